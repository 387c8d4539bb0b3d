"""Shared fixtures: the test bundles (built once per session, or read from COLBERT_EDGE_TEST_BUNDLES)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import bundles as test_bundles  # noqa: E402


@pytest.fixture(scope="session")
def bundle_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with the model folders, bundles and reference vectors of tests/bundles.py."""
    given = os.environ.get("COLBERT_EDGE_TEST_BUNDLES")
    if given:
        return Path(given)
    return test_bundles.build(tmp_path_factory.mktemp("bundles"))


@pytest.fixture(scope="session")
def references(bundle_root: Path) -> dict[str, dict[str, np.ndarray]]:
    return {m: dict(np.load(bundle_root / f"reference-{m}.npz")) for m in ("lfm2", "minilm")}

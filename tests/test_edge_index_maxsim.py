"""MaxSim reference and the pure helpers: hand-checkable numbers, doctests, chunk boundaries."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

from colbert_edge.edge_index.maxsim import exhaustive_search, maxsim, maxsim_packed

maxsim_module = importlib.import_module("colbert_edge.edge_index.maxsim")


@pytest.mark.parametrize("name", ["maxsim", "filters", "centroids"])
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(f"colbert_edge.edge_index.{name}"))  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


def test_hand_checked_scores() -> None:
    q = np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32)
    d1 = np.array([[0.6, 0.8, 0], [1, 0, 0]], dtype=np.float32)  # maxes 1.0, 0.8
    d2 = np.array([[0, 0, 1]], dtype=np.float32)  # maxes 0, 0
    d3 = np.array([[-1, 0, 0], [0, -1, 0]], dtype=np.float32)  # maxes 0 (!), 0: max over real tokens
    d4 = np.array([[-0.6, -0.8, 0]], dtype=np.float32)  # maxes -0.6, -0.8 (no zero padding)
    np.testing.assert_allclose(maxsim(q, [d1, d2, d3, d4]), [1.8, 0.0, 0.0, -1.4], atol=1e-6)


def test_packed_matches_per_document_loop_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    docs = [rng.standard_normal((int(n), 16)).astype(np.float32) for n in rng.integers(1, 30, size=40)]
    q = rng.standard_normal((5, 16)).astype(np.float32)
    expected = np.array([(q @ d.T).max(axis=1).sum() for d in docs], dtype=np.float32)
    monkeypatch.setattr(maxsim_module, "_CHUNK_TOKENS", 7)  # chunks smaller than some documents
    lengths = np.array([len(d) for d in docs])
    np.testing.assert_allclose(maxsim_packed(q, np.concatenate(docs), lengths), expected, rtol=1e-5, atol=1e-5)
    assert maxsim(q, []).shape == (0,)


def test_exhaustive_search_orders_best_first_with_stable_ties() -> None:
    q = np.array([[1.0, 0.0]], dtype=np.float32)
    docs = [np.array([[x, 0.0]], dtype=np.float32) for x in (0.5, 0.9, 0.5, 0.1)]
    order, scores = exhaustive_search(q, docs, 3)
    assert order.tolist() == [1, 0, 2]
    np.testing.assert_allclose(scores, [0.9, 0.5, 0.5])


def test_edge_index_never_imports_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import colbert_edge.edge_index, colbert_edge.edge_index.pylate_compat; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'onnxruntime')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr

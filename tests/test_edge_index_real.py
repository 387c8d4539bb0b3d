"""Recall on real token vectors: the MiniLM ColBERT test bundle over real English text.

The text is the documentation that ships with Python itself (docstrings of standard-library modules):
real prose, available offline. Queries are phrases taken from passages. The bundle comes from the
session fixture ``bundle_root`` (tests/conftest.py; built with torch, or given by
COLBERT_EDGE_TEST_BUNDLES).
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import numpy as np
import pytest
from index_data import recall_at_k, tie_tolerant_recall

from colbert_edge.edge_index import Index
from colbert_edge.edge_index.maxsim import exhaustive_search, maxsim

MODULES = ["json", "collections", "itertools", "functools", "pathlib", "re", "argparse", "logging",
           "subprocess", "datetime", "decimal", "statistics", "random", "textwrap", "shutil", "zipfile",
           "csv", "sqlite3", "unittest", "typing", "os", "string", "heapq", "bisect", "fractions",
           "calendar", "tarfile", "tempfile", "threading", "asyncio", "email", "http.client", "urllib.parse"]


def real_passages(limit: int) -> list[str]:
    """Paragraphs of 15-60 words from standard-library docstrings, deduplicated, in a fixed order."""
    seen: set[str] = set()
    out: list[str] = []
    for name in MODULES:
        module = importlib.import_module(name)
        objects = [module] + [getattr(module, a) for a in sorted(dir(module)) if not a.startswith("_")]
        for obj in objects:
            doc = inspect.getdoc(obj) if (inspect.isfunction(obj) or inspect.isclass(obj) or obj is module) else None
            for para in re.split(r"\n\s*\n", doc or ""):
                text = " ".join(para.split())
                if 15 <= len(text.split()) <= 60 and text not in seen and ">>>" not in text:
                    seen.add(text)
                    out.append(text)
                    if len(out) == limit:
                        return out
    return out


@pytest.fixture(scope="module")
def encoder(bundle_root: Path):
    runtime = pytest.importorskip("colbert_edge.runtime")
    with runtime.Encoder.load(bundle_root / "minilm-fp32") as enc:
        yield enc


@pytest.fixture(scope="module")
def real_vectors(encoder):
    passages = real_passages(600)
    assert len(passages) >= 500
    rng = np.random.default_rng(0)
    picks = rng.choice(len(passages), size=40, replace=False)
    queries_text = []
    for i in picks:
        words = passages[i].split()
        start = int(rng.integers(0, max(1, len(words) - 8)))
        queries_text.append(" ".join(words[start : start + 8]))
    return encoder.encode_documents(passages), encoder.encode_queries(queries_text), picks


@pytest.mark.parametrize("codec", ["fp16", "residual4"])
def test_recall_on_real_minilm_vectors(encoder, real_vectors, tmp_path: Path, codec: str) -> None:
    docs, queries, picks = real_vectors
    ids = [f"p{i}" for i in range(len(docs))]
    path = tmp_path / "real.db"
    with Index.open(path, fingerprint=encoder.fingerprint, dim=encoder.dim, codec=codec, train_at=200) as index:
        index.add(ids[:250], docs[:250])
        index.add(ids[250:], docs[250:])
        assert index.info().n_centroids > 0
        found = [[int(h.id[1:]) for h in hits] for hits in index.search(queries, k=10)]  # default settings
    reference = [list(exhaustive_search(q, docs, 10)[0]) for q in queries]
    strict = recall_at_k(found, reference)  # type: ignore[arg-type]
    tolerant = tie_tolerant_recall(found, [maxsim(q, docs) for q in queries], 10, rel=0.01)
    if codec == "fp16":
        assert strict >= 0.99
    else:
        # Measured: strict ~0.95-0.97, short of the 0.99 target: the 66-byte codec's score error
        # (~0.3%) swaps near-ties; misses score within ~1% of the true 10th (rarely 2%).
        assert strict >= 0.94 and tolerant >= 0.99
    assert sum(f[0] == i for f, i in zip(found, picks)) >= 25  # the source passage usually wins

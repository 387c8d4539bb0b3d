"""Recall on real token vectors: the MiniLM ColBERT test bundle over real English text.

The text ships with Python itself: the language reference's help topics (``pydoc_data.topics``)
and docstrings of standard-library modules, cut into paragraphs of 15-60 words (~1,400 of them);
real prose, available offline. Queries are 8-word phrases taken from passages. The index runs at
default settings (``train_at=1000``: the first add trains the centroids, the second is assigned to
them). The bundle comes from the session fixture ``bundle_root`` (tests/conftest.py; built with
torch, or given by COLBERT_EDGE_TEST_BUNDLES).
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
N_QUERIES = 100


def _paragraphs(doc: str | None) -> list[str]:
    out = []
    for para in re.split(r"\n\s*\n", doc or ""):
        text = " ".join(para.split())
        if 15 <= len(text.split()) <= 60 and ">>>" not in text:
            out.append(text)
    return out


def real_passages() -> list[str]:
    """Help-topic paragraphs, then standard-library docstring paragraphs; deduplicated, fixed order."""
    from pydoc_data.topics import topics

    texts = [p for key in sorted(topics) for p in _paragraphs(topics[key])]
    for name in MODULES:
        module = importlib.import_module(name)
        objects = [module] + [getattr(module, a) for a in sorted(dir(module)) if not a.startswith("_")]
        for obj in objects:
            if inspect.isfunction(obj) or inspect.isclass(obj) or obj is module:
                texts += _paragraphs(inspect.getdoc(obj))
    return list(dict.fromkeys(texts))


@pytest.fixture(scope="module")
def encoder(bundle_root: Path):
    runtime = pytest.importorskip("colbert_edge.runtime")
    with runtime.Encoder.load(bundle_root / "minilm-fp32") as enc:
        yield enc


@pytest.fixture(scope="module")
def real_vectors(encoder):
    passages = real_passages()
    assert len(passages) >= 1200  # enough that the default train_at (1000) trains centroids
    rng = np.random.default_rng(0)
    picks = rng.choice(len(passages), size=N_QUERIES, replace=False)
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
    with Index.open(tmp_path / "real.db", fingerprint=encoder.fingerprint, dim=encoder.dim, codec=codec) as index:
        index.add(ids[:1000], docs[:1000])  # reaches the default train_at: centroids train here
        index.add(ids[1000:], docs[1000:])  # assigned to the trained centroids
        assert index.info().n_centroids > 0
        found = [[int(h.id[1:]) for h in hits] for hits in index.search(queries, k=10)]  # default settings
        every = [[int(h.id[1:]) for h in hits] for hits in index.search(queries, k=10, nprobe=None, candidates=None)]
    reference = [list(exhaustive_search(q, docs, 10)[0]) for q in queries]
    true_scores = [maxsim(q, docs) for q in queries]
    strict = recall_at_k(found, reference)  # type: ignore[arg-type]
    tolerant = tie_tolerant_recall(found, true_scores, 10, rel=0.01)
    if codec == "fp16":
        assert strict >= 0.99  # measured 0.994 (1,405 passages, Python 3.11's texts)
    else:
        # Measured 0.957, short of the 0.99 target, and the codec is the limit: scoring every stored
        # document exactly gives 0.962. The 68-byte codec's score error (~0.5%) swaps near-ties:
        # tie-tolerant recall (a hit within 1% of the true 10th counts) is 0.999.
        assert strict >= 0.94 and tolerant >= 0.99
        assert strict >= recall_at_k(every, reference) - 0.01  # type: ignore[arg-type]  # the search loses ~nothing
    assert sum(f[0] == i for f, i in zip(found, picks)) >= 60  # the source passage usually wins

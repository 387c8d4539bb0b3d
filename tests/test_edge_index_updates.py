"""Upsert, delete, add/delete/re-add cycles against a fresh build, optimize() and its policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from index_data import make_corpus, recall_at_k

from colbert_edge.edge_index import Index
from colbert_edge.edge_index.maxsim import exhaustive_search

DIM = 128


def _ids(hits: list) -> list[str]:
    return [h.id for h in hits]


def test_upsert_replaces_vectors_and_metadata(tmp_path: Path) -> None:
    corpus = make_corpus(30, n_queries=1, seed=5)
    with Index.open(tmp_path / "i.db", fingerprint="fp", dim=DIM, codec="fp16") as index:
        index.add(corpus.ids, corpus.docs, [{"v": 1}] * 30)
        index.add(["doc-3"], [corpus.docs[7]], [{"v": 2}])
        assert len(index) == 30
        np.testing.assert_allclose(index.get_vectors(["doc-3"])[0], corpus.docs[7], atol=1e-3)
        hits = index.search(corpus.docs[7], k=2)
        assert {h.id for h in hits} == {"doc-3", "doc-7"}
        assert {h.id: h.metadata for h in hits}["doc-3"] == {"v": 2}


def test_delete_changes_no_other_document(tmp_path: Path) -> None:
    corpus = make_corpus(260, n_queries=3, seed=6)
    with Index.open(tmp_path / "i.db", fingerprint="fp", dim=DIM, codec="fp16", train_at=100) as index:
        index.add(corpus.ids, corpus.docs, [{"n": i} for i in range(260)])
        before = {h.id: h for h in index.search(corpus.queries[0], k=260, nprobe=None, candidates=None)}
        assert index.delete(["doc-0", "doc-100", "not-there"]) == 2
        after = {h.id: h for h in index.search(corpus.queries[0], k=260, nprobe=None, candidates=None)}
        index.check()
    assert set(after) == set(before) - {"doc-0", "doc-100"}
    for doc_id, hit in after.items():  # same id -> same metadata and score: nothing was renumbered
        assert hit.metadata == before[doc_id].metadata and hit.score == pytest.approx(before[doc_id].score)


@pytest.mark.parametrize("codec", ["fp16", "residual4"])
def test_add_delete_readd_cycles_equal_a_fresh_build(tmp_path: Path, codec: str) -> None:
    pool = make_corpus(1500, n_queries=10, min_len=10, max_len=60, seed=7)  # a fresh vector per add
    fresh_vectors = iter(pool.docs)
    rng = np.random.default_rng(8)
    live: dict[str, np.ndarray] = {}
    with Index.open(tmp_path / "cycled.db", fingerprint="fp", dim=DIM, codec=codec, train_at=80) as index:
        for step in range(300):
            op = rng.random()
            if op < 0.55 or len(live) < 20:  # add new ids or re-add deleted ones, sometimes upsert
                picks = rng.choice(400, size=int(rng.integers(1, 6)), replace=False)
                ids = [f"doc-{i}" for i in picks]
                docs = [next(fresh_vectors) for _ in picks]
                index.add(ids, docs)
                live.update(zip(ids, docs))
            else:
                gone = list(rng.choice(sorted(live), size=int(rng.integers(1, 5)), replace=False))
                assert index.delete(gone) == len(gone)
                for doc_id in gone:
                    del live[doc_id]
        index.check()
        assert index.info().n_centroids > 0 and len(index) == len(live)
        cycled = [index.search(q, k=10, nprobe=None, candidates=None) for q in pool.queries]
        cycled_default = [index.search(q, k=10) for q in pool.queries]
    ids = sorted(live)
    with Index.open(tmp_path / "fresh.db", fingerprint="fp", dim=DIM, codec=codec, train_at=80) as fresh:
        fresh.add(ids, [live[i] for i in ids])
        rebuilt = [fresh.search(q, k=10, nprobe=None, candidates=None) for q in pool.queries]
    reference = [[ids[j] for j in exhaustive_search(q, [live[i] for i in ids], 10)[0]] for q in pool.queries]
    if codec == "fp16":  # same stored vectors: the same answer, to fp16 rounding
        assert [_ids(h) for h in cycled] == [_ids(h) for h in rebuilt] == reference
        for a, b in zip(cycled, rebuilt):
            np.testing.assert_allclose([h.score for h in a], [h.score for h in b], rtol=1e-5)
    else:  # centroids trained on different samples: equal within the codec's tolerance
        for a, b in zip(cycled, rebuilt):
            assert len(set(_ids(a)) & set(_ids(b))) >= 8
            np.testing.assert_allclose([h.score for h in a], [h.score for h in b], atol=0.3)
    assert recall_at_k([_ids(h) for h in cycled_default], reference) >= 0.9


def test_growth_recommends_optimize_and_optimize_retrains(tmp_path: Path) -> None:
    corpus = make_corpus(700, n_queries=5, min_len=10, max_len=40, seed=9)
    with Index.open(tmp_path / "i.db", fingerprint="fp", dim=DIM, codec="fp16", train_at=100) as index:
        index.add(corpus.ids[:100], corpus.docs[:100])
        trained = index.info()
        assert trained.n_centroids > 0 and not trained.optimize_recommended
        index.add(corpus.ids[100:], corpus.docs[100:])
        grown = index.info()
        assert grown.optimize_recommended and grown.n_centroids == trained.n_centroids  # never implicit
        index.optimize()
        optimized = index.info()
        assert not optimized.optimize_recommended and optimized.trained_tokens == optimized.n_tokens
        assert optimized.n_centroids > trained.n_centroids
        index.check()
        for q in corpus.queries:
            hits = index.search(q, k=10, nprobe=None, candidates=None)
            assert _ids(hits) == [corpus.ids[i] for i in exhaustive_search(q, corpus.docs, 10)[0]]


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    corpus = make_corpus(150, n_queries=3, seed=10)
    path = tmp_path / "i.db"
    with Index.open(path, fingerprint="fp", dim=DIM, train_at=100) as index:
        index.add(corpus.ids, corpus.docs, [{"i": i} for i in range(150)])
        before = [index.search(q, k=5) for q in corpus.queries]
    with Index.open(path) as index:  # build parameters come from the file
        assert index.info().codec == "residual4" and index.info().train_at == 100
        assert [index.search(q, k=5) for q in corpus.queries] == before

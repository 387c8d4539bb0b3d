"""The PyLate-shaped adapter: seed code runs with an import change and gives the index's answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from index_data import make_corpus

from colbert_edge.edge_index.maxsim import exhaustive_search, maxsim
from colbert_edge.edge_index.pylate_compat import indexes, rank, retrieve


def _pylate_padded_scores(query: np.ndarray, docs: list[np.ndarray]) -> np.ndarray:
    """What pylate.rank.rerank computes: documents zero-padded to the longest, then MaxSim."""
    longest = max(len(d) for d in docs)
    padded = np.zeros((len(docs), longest, query.shape[1]), dtype=np.float32)
    for i, d in enumerate(docs):
        padded[i, : len(d)] = d
    return np.einsum("qd,ntd->nqt", query, padded).max(axis=2).sum(axis=1)


def test_seed_code_runs_with_an_import_change(tmp_path: Path) -> None:
    corpus = make_corpus(60, n_queries=3, seed=13)
    # --- the PyLate seed code, unchanged but for the import line ---
    index = indexes.PLAID(index_folder=str(tmp_path / "pylate-index"), index_name="index", override=True)
    index.add_documents(documents_ids=corpus.ids, documents_embeddings=corpus.docs)
    retriever = retrieve.ColBERT(index=index)
    scores = retriever.retrieve(queries_embeddings=corpus.queries, k=5)
    # ---
    assert len(scores) == 3
    for query, hits in zip(corpus.queries, scores):
        order, best = exhaustive_search(query, corpus.docs, 5)
        assert [h["id"] for h in hits] == [corpus.ids[i] for i in order]
        np.testing.assert_allclose([h["score"] for h in hits], best, rtol=1e-2)
        assert set(hits[0]) == {"id", "score"}
    index.remove_documents([scores[0][0]["id"]])
    assert scores[0][0]["id"] not in [h["id"] for h in retriever.retrieve(corpus.queries[:1], k=5)[0]]
    # reopening the folder without override keeps the documents
    again = indexes.PLAID(index_folder=str(tmp_path / "pylate-index"), index_name="index")
    assert len(again(corpus.queries[0], k=100)[0]) == 59


def test_rerank_equals_pylate_when_no_max_is_negative() -> None:
    corpus = make_corpus(12, n_queries=2, seed=14)
    ids = [corpus.ids[:6], corpus.ids[6:]]
    docs = [corpus.docs[:6], corpus.docs[6:]]
    out = rank.rerank(documents_ids=ids, queries_embeddings=corpus.queries, documents_embeddings=docs)
    for query, query_ids, query_docs, ranked in zip(corpus.queries, ids, docs, out):
        expected = _pylate_padded_scores(query, query_docs)
        order = np.argsort(-expected, kind="stable")
        assert [r["id"] for r in ranked] == [query_ids[i] for i in order]
        np.testing.assert_allclose([r["score"] for r in ranked], expected[order], rtol=1e-5)


def test_rerank_documented_difference_no_zero_padding() -> None:
    query = np.array([[1.0, 0.0]], dtype=np.float32)
    short = np.array([[-0.6, 0.8]], dtype=np.float32)  # every dot product negative
    long = np.array([[0.0, 1.0], [0.0, -1.0]], dtype=np.float32)
    (ranked,) = rank.rerank([["short", "long"]], [query], [[short, long]])
    assert {r["id"]: r["score"] for r in ranked} == {"long": 0.0, "short": np.float32(-0.6)}
    assert _pylate_padded_scores(query, [short, long])[0] == 0.0  # PyLate's padding would give 0
    assert maxsim(query, [short])[0] == np.float32(-0.6)

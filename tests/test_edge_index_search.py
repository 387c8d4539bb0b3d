"""Search correctness against the exhaustive MaxSim reference, filters, batch search, info()."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from index_data import Corpus, make_corpus, recall_at_k

from colbert_edge.edge_index import Hit, Index
from colbert_edge.edge_index.maxsim import exhaustive_search, maxsim
from colbert_edge.errors import InvalidArgument

DIM = 128
# |MaxSim on residual4-decoded vectors - MaxSim on the originals| for 32-token queries: ~0.04 mean.
CODEC_SCORE_TOLERANCE = 0.25


def _reference(corpus: Corpus, k: int = 10, subset: list[int] | None = None) -> list[list[str]]:
    positions = list(range(len(corpus.docs))) if subset is None else subset
    docs = [corpus.docs[i] for i in positions]
    return [[corpus.ids[positions[i]] for i in exhaustive_search(q, docs, k)[0]] for q in corpus.queries]


def _metadata(i: int) -> dict[str, object]:
    return {
        "lang": ["en", "de", "fr"][i % 3],
        "year": 2000 + i % 25,
        "date": (dt.date(2024, 1, 1) + dt.timedelta(days=i % 366)).isoformat(),
        "rare": i % 97 == 0,
        "owner": {"name": f"user{i % 5}"},
    }


def _build(path: Path, corpus: Corpus, **options: object) -> Index:
    index = Index.open(path, fingerprint="test-bundle", dim=DIM, **options)  # type: ignore[arg-type]
    for start in range(0, len(corpus.ids), 400):  # several adds: training happens mid-way
        stop = start + 400
        meta = [_metadata(i) for i in range(start, min(stop, len(corpus.ids)))]
        index.add(corpus.ids[start:stop], corpus.docs[start:stop], meta)
    return index


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return make_corpus(1500, n_queries=40, min_len=20, max_len=100, seed=11)


@pytest.fixture(scope="module")
def default_index(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Index:
    """Default settings throughout (residual4, train_at=1000): trained when the 3rd add reaches 1200."""
    with _build(tmp_path_factory.mktemp("default") / "index.db", corpus) as index:
        yield index


@pytest.fixture(scope="module")
def fp16_index(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Index:
    with _build(tmp_path_factory.mktemp("fp16") / "index.db", corpus, codec="fp16", train_at=300) as index:
        yield index


def test_default_settings_recall_at_10(default_index: Index, corpus: Corpus) -> None:
    info = default_index.info()
    assert info.n_centroids > 0 and info.codec == "residual4"
    found = [[h.id for h in hits] for hits in default_index.search(corpus.queries, k=10)]
    assert recall_at_k(found, _reference(corpus)) >= 0.99


def test_every_centroid_probed_fp16_equals_exhaustive(fp16_index: Index, corpus: Corpus) -> None:
    assert fp16_index.info().n_centroids > 0
    for query in corpus.queries[:10]:
        hits = fp16_index.search(query, k=10, nprobe=None, candidates=None)
        order, scores = exhaustive_search(query, corpus.docs, 10)
        assert [h.id for h in hits] == [corpus.ids[i] for i in order]
        np.testing.assert_allclose([h.score for h in hits], scores, rtol=2e-3, atol=1e-2)


def test_untrained_small_index_is_exhaustive(tmp_path: Path) -> None:
    small = make_corpus(120, n_queries=5, seed=2)
    with Index.open(tmp_path / "small.db", fingerprint="fp", dim=DIM) as index:
        index.add(small.ids, small.docs)
        assert index.info().n_centroids == 0
        found = [[h.id for h in hits] for hits in index.search(small.queries, k=10)]
    assert found == _reference(small)


def test_more_candidates_never_hurt_recall(default_index: Index, corpus: Corpus) -> None:
    reference = _reference(corpus)
    recalls = [
        recall_at_k([[h.id for h in hits]
                     for hits in default_index.search(corpus.queries, k=10, candidates=c, exact_tokens=None)],
                    reference)
        for c in (10, 64, 400)
    ]
    assert recalls[0] <= recalls[2] + 1e-9 and recalls[1] <= recalls[2] + 1e-9
    assert recalls[0] < 1.0  # the approximate cut really cuts: this test can see a broken ranking


def test_exact_tokens_fills_the_exact_stage(
    default_index: Index, corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """candidates documents always; then more, in interaction order, while they fit exact_tokens."""
    from colbert_edge.edge_index import searcher

    scored: list[tuple[int, int]] = []  # (documents, tokens) per exact stage
    original = searcher.exact_scores

    def spy(conn, state, query, doc_nos, k):  # type: ignore[no-untyped-def]
        tokens = sum(int(batch.lengths.sum()) for batch in state.read_docs(conn, doc_nos))
        scored.append((len(doc_nos), tokens))
        return original(conn, state, query, doc_nos, k)

    monkeypatch.setattr(searcher, "exact_scores", spy)
    query = corpus.queries[0]
    plain = default_index.search(query, k=10, candidates=16, exact_tokens=None)
    assert scored[-1][0] == 16
    assert default_index.search(query, k=10, candidates=16, exact_tokens=10) == plain  # below 16 documents' worth
    assert scored[-1][0] == 16
    filled = default_index.search(query, k=10, candidates=16, exact_tokens=2000)
    n_docs, n_tokens = scored[-1]
    assert 16 < n_docs <= 4 * 16 and n_tokens <= 2000  # more documents, from the pool of 4 * candidates
    # The kept documents extend the same order, so every rank's score can only rise (up to float
    # noise: a different batch changes the BLAS blocking, ~2e-6 here).
    assert all(f.score >= p.score - 1e-4 for f, p in zip(filled, plain))


def test_exact_stage_in_two_threads_equals_one(
    default_index: Index, corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    from colbert_edge.edge_index import searcher

    split = searcher._split_by_tokens
    parts_seen: list[int] = []

    def spy(rows, parts):  # type: ignore[no-untyped-def]
        out = split(rows, parts)
        parts_seen.append(len(out))
        return out

    monkeypatch.setattr(searcher, "_split_by_tokens", spy)
    monkeypatch.setattr(searcher, "_WORKERS", 2)
    two = default_index.search(corpus.queries, k=10, nprobe=None, candidates=None)
    assert max(parts_seen) == 2  # the batches were really scored in two parts
    monkeypatch.setattr(searcher, "_WORKERS", 1)
    one = default_index.search(corpus.queries, k=10, nprobe=None, candidates=None)
    assert [[h.id for h in hits] for hits in two] == [[h.id for h in hits] for hits in one]
    np.testing.assert_allclose([[h.score for h in hits] for hits in two],
                               [[h.score for h in hits] for hits in one], atol=1e-4)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")
def test_search_in_a_forked_child(default_index: Index, corpus: Corpus) -> None:
    """The exact stage's threads do not survive fork: a child that searches must not hang on them."""
    query = corpus.queries[0]
    parent = [h.id for h in default_index.search(query, k=10, nprobe=None, candidates=None)]  # threads started
    pid = os.fork()
    if pid == 0:  # the child: exit 0 on the same answer
        try:
            with Index.open(default_index.path) as child_index:
                child = [h.id for h in child_index.search(query, k=10, nprobe=None, candidates=None)]
            os._exit(0 if child == parent else 3)
        except BaseException:
            os._exit(4)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung in search")
    assert os.waitstatus_to_exitcode(done[1]) == 0


def test_batch_search_equals_single_queries(default_index: Index, corpus: Corpus) -> None:
    batch = default_index.search(corpus.queries[:4], k=5)
    single = [default_index.search(q, k=5) for q in corpus.queries[:4]]
    assert batch == single
    assert all(isinstance(h, Hit) for hits in batch for h in hits)


def test_hits_carry_metadata_and_scores_descend(default_index: Index, corpus: Corpus) -> None:
    hits = default_index.search(corpus.queries[0], k=10)
    assert len(hits) == 10
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    for h in hits:
        assert h.metadata == _metadata(int(h.id.split("-")[1]))


def test_k_beyond_collection_returns_everything(tmp_path: Path) -> None:
    small = make_corpus(7, n_queries=1, seed=4)
    with Index.open(tmp_path / "seven.db", fingerprint="fp", dim=DIM) as index:
        assert index.search(small.queries[0], k=3) == []
        index.add(small.ids, small.docs)
        assert sorted(h.id for h in index.search(small.queries[0], k=50)) == sorted(small.ids)


FILTERS = [
    ({"lang": "de"}, lambda m: m["lang"] == "de"),
    ({"lang": ["en", "fr"]}, lambda m: m["lang"] in ("en", "fr")),
    ({"year": {"$gte": 2010, "$lt": 2013}}, lambda m: 2010 <= m["year"] < 2013),
    ({"date": {"$gte": dt.date(2024, 3, 1), "$lte": "2024-03-15"}}, lambda m: "2024-03-01" <= m["date"] <= "2024-03-15"),
    ({"rare": True}, lambda m: m["rare"]),
    ({"owner.name": {"$ne": "user1"}, "lang": {"$nin": ["fr"]}}, lambda m: m["owner"]["name"] != "user1" and m["lang"] != "fr"),
    ({"missing": None}, lambda m: True),
    ({"year": {"$gt": 3000}}, lambda m: False),
]


@pytest.mark.parametrize("where, keep", FILTERS)
def test_filtered_search_returns_k_matching_documents(
    default_index: Index, corpus: Corpus, where: dict, keep: object
) -> None:
    subset = [i for i in range(len(corpus.ids)) if keep(_metadata(i))]  # type: ignore[operator]
    queries = corpus.queries[:12]
    found = default_index.search(queries, k=10, where=where)
    for query, hits in zip(queries, found):
        assert len(hits) == min(10, len(subset))
        assert all(keep(_metadata(int(h.id.split("-")[1]))) for h in hits)  # type: ignore[operator]
        if not subset:
            continue
        # Deep in a filtered list score gaps are tiny, so the codec swaps near-ties: every hit must
        # score (exactly, fp32) within the codec's tolerance of the true k-th best matching document.
        _, best = exhaustive_search(query, [corpus.docs[i] for i in subset], 10)
        true = maxsim(query, [corpus.docs[int(h.id.split("-")[1])] for h in hits])
        assert true.min() >= best[-1] - CODEC_SCORE_TOLERANCE


def test_filter_values_never_become_sql(default_index: Index, corpus: Corpus) -> None:
    evil = "en' OR 1=1; DROP TABLE documents; --"
    assert default_index.search(corpus.queries[0], k=5, where={"lang": evil}) == []
    assert len(default_index) == len(corpus.ids)


@pytest.mark.parametrize(
    "where",
    [{}, [], {"bad field": 1}, {"a;drop": 1}, {"x": {"$regex": "a"}}, {"x": {"$in": []}}, {"x": {"$gt": None}},
     {"x": object()}, {"x": {}}, {"x": [[1]]}],
)
def test_malformed_filter_is_invalid_argument(default_index: Index, corpus: Corpus, where: object) -> None:
    with pytest.raises(InvalidArgument):
        default_index.search(corpus.queries[0], k=5, where=where)  # type: ignore[arg-type]


def test_info_reports_codec_sizes(default_index: Index, fp16_index: Index, corpus: Corpus) -> None:
    info = default_index.info()
    assert info.n_documents == 1500 and info.n_tokens == sum(len(d) for d in corpus.docs)
    assert info.bytes_per_token == info.codec_bytes_per_token == 68 <= 72
    assert fp16_index.info().bytes_per_token == 256
    assert info.dim == DIM and info.fingerprint == "test-bundle" and info.file_bytes > 0
    assert not info.optimize_recommended

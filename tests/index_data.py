"""Seeded synthetic ColBERT token vectors with realistic structure, for the edge-index tests and bench.

Structure: a vocabulary of "word" vectors living near a low-dimensional subspace (intrinsic dimension
``intrinsic``), grouped in topics; a document picks a topic and draws words Zipf-like from it (plus a
few off-topic words), each token its word vector plus context noise; lengths vary between
``min_len`` and ``max_len``. A query draws most words from one target document and a few from its
topic. All vectors are L2-normalised float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


def _normalise(x: np.ndarray) -> F32:
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@dataclass
class Corpus:
    ids: list[str]
    docs: list[F32]  # each (n_i, dim) float32
    queries: list[F32]  # each (q, dim) float32
    topics: list[int]  # topic of each document


def make_corpus(
    n_docs: int,
    *,
    dim: int = 128,
    n_queries: int = 20,
    min_len: int = 20,
    max_len: int = 120,
    query_len: int = 32,
    n_topics: int | None = None,
    n_words: int = 8000,
    intrinsic: int = 24,
    context: float = 0.4,
    seed: int = 0,
) -> Corpus:
    """``n_docs`` documents of ``min_len..max_len`` tokens and ``n_queries`` queries, seeded.

    Topics default to one per 8 documents; a document's words come 70% from its topic, 15% from a
    second topic, 15% from the whole vocabulary; a token is its word plus ``context`` noise.
    """
    rng = np.random.default_rng(seed)
    n_topics = n_topics or max(20, n_docs // 8)
    basis = rng.standard_normal((intrinsic, dim)).astype(np.float32)
    words = rng.standard_normal((n_words, intrinsic)).astype(np.float32) @ basis  # (n_words, dim)
    words = _normalise(words)
    words = _normalise(words + 0.15 * rng.standard_normal((n_words, dim)).astype(np.float32) / np.sqrt(dim))
    per_topic = 60
    topic_words = rng.integers(0, n_words, size=(n_topics, per_topic))
    zipf = 1.0 / np.arange(1, per_topic + 1) ** 0.9
    zipf /= zipf.sum()

    def tokens(word_ids: np.ndarray) -> F32:
        noise = rng.standard_normal((len(word_ids), dim)).astype(np.float32)
        return _normalise(words[word_ids] + context * noise / np.sqrt(dim))

    docs, doc_words, topics = [], [], []
    for _ in range(n_docs):
        topic, second = (int(t) for t in rng.integers(n_topics, size=2))
        n = int(rng.integers(min_len, max_len + 1))
        ids = topic_words[topic][rng.choice(per_topic, size=n, p=zipf)]
        draw = rng.random(n)
        ids[draw < 0.15] = topic_words[second][rng.choice(per_topic, size=int((draw < 0.15).sum()), p=zipf)]
        ids[draw > 0.85] = rng.integers(0, n_words, size=int((draw > 0.85).sum()))
        docs.append(tokens(ids))
        doc_words.append(ids)
        topics.append(topic)
    queries = []
    for _ in range(n_queries):
        target = int(rng.integers(n_docs))
        own = rng.choice(doc_words[target], size=query_len - 8)
        near = topic_words[topics[target]][rng.choice(per_topic, size=8, p=zipf)]
        queries.append(tokens(np.concatenate([own, near])))
    return Corpus([f"doc-{i}" for i in range(n_docs)], docs, queries, topics)


def recall_at_k(found: list[list[str]], expected: list[list[str]]) -> float:
    """Mean over queries of |found ∩ expected| / |expected|."""
    total = [len(set(f) & set(e)) / max(len(e), 1) for f, e in zip(found, expected)]
    return float(np.mean(total))


def tie_tolerant_recall(found: list[list[int]], true_scores: list[np.ndarray], k: int, rel: float) -> float:
    """Recall@k where a hit also counts if its exact score is within ``rel`` of the true k-th best.

    found: positions of the hits per query; true_scores: exact MaxSim of every document per query.
    A lossy codec swaps documents whose scores differ by less than its own error; this counts such
    near-ties as found, and still counts any real miss.
    """
    total = []
    for hits, scores in zip(found, true_scores):
        kth = np.sort(scores)[::-1][min(k, len(scores)) - 1]
        total.append(sum(scores[h] >= kth - rel * abs(kth) for h in hits) / min(k, len(scores)))
    return float(np.mean(total))


WRITER_DIM = 64
WRITER_DOCS_PER_BATCH = 40


def writer_batch(batch: int) -> tuple[list[str], list[F32]]:
    """Batch ``batch`` of the writer subprocess in the crash/concurrency tests: ids and vectors."""
    rng = np.random.default_rng(1000 + batch)
    docs = [_normalise(rng.standard_normal((int(rng.integers(20, 80)), WRITER_DIM)))
            for _ in range(WRITER_DOCS_PER_BATCH)]
    return [f"b{batch}-d{j}" for j in range(WRITER_DOCS_PER_BATCH)], docs


# Run as a script: the writer process of the crash/concurrency tests. It adds batches
# first..first+count-1, one transaction each, and prints "committed B" after each commit.
WRITER_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
from index_data import writer_batch, WRITER_DIM
from colbert_edge.edge_index import Index
path, codec, first, count = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
with Index.open(path, fingerprint="writer", dim=WRITER_DIM, codec=codec, train_at=150, timeout=30) as index:
    for b in range(first, first + count):
        ids, docs = writer_batch(b)
        index.add(ids, docs, [{"batch": b}] * len(ids))
        print(f"committed {b}", flush=True)
"""

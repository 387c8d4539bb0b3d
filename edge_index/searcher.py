"""One query against a loaded index: probe -> candidates -> approximate cut -> exact MaxSim -> top k.

1. FAISS scores each query token against the centroids; the ``nprobe`` best per token are probed.
2. The probed centroids' posting lists give the candidate documents (only ``allowed`` ones when a
   filter is set); each gets the probe-level approximate score (see postings.py) and the best
   ``4 * candidates`` go on.
3. Those get PLAID's centroid interaction (every centroid the document holds, read from
   ``documents.centroids``): sum over query tokens of the best such centroid's score.
4. In order of centroid interaction (ties: lower doc_no first) the first ``candidates`` documents,
   and then the following ones while all kept documents hold at most ``exact_tokens`` tokens, are
   decoded and scored with exact MaxSim (:func:`~colbert_edge.edge_index.maxsim.maxsim_packed`);
   the top k are returned. The token fill matters for short passages: on the 1,405 real MiniLM
   passages (~39 tokens) of tests/test_edge_index_real.py it lifts recall@10 from 0.986 to 0.994
   (fp16) and from 0.953 to 0.957 (residual4) for the work of ~65k tokens,
   while at 50k synthetic documents (~300 tokens) the first 256 already exceed it. The exact stage
   runs in two threads (p50 35 -> 26-28 ms at 50k documents here).

If fewer than k documents are candidates (a selective filter), ``nprobe`` grows 4x per round until
k are found or every centroid is probed. A filter that allows at most ``candidates`` documents skips
the centroids and scores those documents exactly. An untrained (small) index is scored exhaustively.
With ``nprobe=None`` (every centroid) and ``candidates=None`` (no approximate cut) every document
is scored exactly: the result is the exhaustive MaxSim top k of the stored vectors.
"""

from __future__ import annotations

import json
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from .maxsim import maxsim_packed
from .state import LoadedState, read_rows

__all__ = ["Allowed", "search_one"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
# Stage 1 (probe approximation) keeps _WIDEN * candidates documents for the centroid interaction.
_WIDEN = 4
# The exact stage decodes and scores in this many threads (at most 2: phones and laptops have them).
_WORKERS = min(2, os.cpu_count() or 1)
_PARALLEL_TOKENS = 8192  # below this many tokens a batch is scored on the calling thread


class Allowed:
    """The documents a filter lets through: doc_nos (m,) int64 ascending and a bool mask by doc_no."""

    def __init__(self, doc_nos: I64) -> None:
        self.doc_nos = doc_nos
        self.mask = np.zeros(int(doc_nos[-1]) + 1 if len(doc_nos) else 0, dtype=bool)
        self.mask[doc_nos] = True


def _top(doc_nos: I64, scores: F32, k: int) -> tuple[I64, F32]:
    """Best k by score (ties: lower doc_no first), best first."""
    if len(scores) > k:
        keep = np.argpartition(-scores, k - 1)[:k]
        doc_nos, scores = doc_nos[keep], scores[keep]
    order = np.lexsort((doc_nos, -scores))
    return doc_nos[order], scores[order]


def exact_scores(
    conn: sqlite3.Connection, state: LoadedState, query: F32, doc_nos: I64 | None, k: int
) -> tuple[I64, F32]:
    """Exact MaxSim of ``doc_nos`` (None = every document), streamed in batches; returns the top k.

    Each batch of rows is decoded and scored in ``_WORKERS`` parts at once (numpy releases the GIL
    in the decode and the matrix product; the SQLite reads stay on the calling thread).
    """
    best_docs, best_scores = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    for rows in read_rows(conn, doc_nos):
        parts = _split_by_tokens(rows, _WORKERS)
        if len(parts) == 1:
            scored = [_score_rows(state, query, parts[0])]
        else:
            scored = list(_pool().map(lambda part: _score_rows(state, query, part), parts))
        best_docs, best_scores = _top(
            np.concatenate([best_docs] + [d for d, _ in scored]), np.concatenate([best_scores] + [s for _, s in scored]), k
        )
    return best_docs, best_scores


def _score_rows(state: LoadedState, query: F32, rows: list[tuple[int, int, int, bytes]]) -> tuple[I64, F32]:
    batch = state.decode(rows)
    return batch.doc_nos, maxsim_packed(query, batch.tokens, batch.lengths)


def _split_by_tokens(rows: list[tuple[int, int, int, bytes]], parts: int) -> list[list[tuple[int, int, int, bytes]]]:
    """Consecutive runs of rows holding about equal tokens; one run below ``_PARALLEL_TOKENS``."""
    tokens = np.cumsum([r[1] for r in rows])
    if parts == 1 or tokens[-1] < _PARALLEL_TOKENS:
        return [rows]
    cuts = np.searchsorted(tokens, tokens[-1] * np.arange(1, parts) / parts)
    bounds = [0] + [int(c) for c in cuts] + [len(rows)]
    return [rows[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """The exact stage's worker threads, started on first use (a forked child starts its own)."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="colbert-edge-exact")
    return _POOL


def _forget_pool() -> None:
    global _POOL
    _POOL = None  # the parent's threads do not exist in a forked child


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def search_one(
    conn: sqlite3.Connection,
    state: LoadedState,
    query: F32,
    k: int,
    allowed: Allowed | None,
    nprobe: int | None,
    candidates: int | None,
    exact_tokens: int | None,
) -> tuple[I64, F32]:
    """Top k (doc_nos, exact scores), best first. query: (q, dim) float32."""
    if allowed is not None and len(allowed.doc_nos) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    if state.centroids is None or state.postings is None:
        return exact_scores(conn, state, query, None if allowed is None else allowed.doc_nos, k)
    if allowed is not None and candidates is not None and len(allowed.doc_nos) <= candidates:
        return exact_scores(conn, state, query, allowed.doc_nos, k)
    n_centroids = len(state.centroids)
    probe = n_centroids if nprobe is None else min(nprobe, n_centroids)
    while True:
        probe_scores, probe_ids = state.centroids.probe(query, probe)  # (q, probe) each
        doc_nos, approx = state.postings.approximate(
            probe_scores, probe_ids, None if allowed is None else allowed.mask
        )
        if len(doc_nos) >= k or probe >= n_centroids:
            break
        probe = min(probe * 4, n_centroids)
    if candidates is not None and len(doc_nos) > candidates:
        wide = _WIDEN * candidates
        if len(doc_nos) > wide:
            doc_nos = doc_nos[np.argpartition(-approx, wide - 1)[:wide]]
        doc_nos, lengths, interaction = centroid_interaction(conn, state, query, np.sort(doc_nos))
        order = np.lexsort((doc_nos, -interaction))
        keep = candidates
        if exact_tokens is not None:
            keep = max(keep, int(np.searchsorted(np.cumsum(lengths[order]), exact_tokens, side="right")))
        doc_nos = doc_nos[order[:keep]]
    return exact_scores(conn, state, query, np.sort(doc_nos), k)


def centroid_interaction(
    conn: sqlite3.Connection, state: LoadedState, query: F32, doc_nos: I64
) -> tuple[I64, I64, F32]:
    """PLAID's centroid interaction: sum over query tokens of the best centroid each document holds.

    Reads the documents' distinct-centroid lists (``documents.centroids``); returns (doc_nos (m,),
    their token counts (m,), scores (m,) float32) for the documents found.
    """
    rows = conn.execute(
        "SELECT doc_no, n_tokens, centroids FROM documents WHERE doc_no IN (SELECT value FROM json_each(?))",
        (json.dumps(doc_nos.tolist()),),
    ).fetchall()
    found = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    n_tokens = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    if state.centroids is None:
        return found, n_tokens, np.zeros(len(found), dtype=np.float32)
    lengths = np.fromiter((len(r[2]) // 2 for r in rows), dtype=np.int64, count=len(rows))
    flat = np.frombuffer(b"".join(r[2] for r in rows), dtype="<u2")  # (nnz,)
    sims = state.centroids.vectors @ query.T  # (K, q): row gathers below copy contiguous rows
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    per_doc = np.maximum.reduceat(np.take(sims, flat, axis=0), starts, axis=0)  # (m, q)
    return found, n_tokens, per_doc.sum(axis=1)

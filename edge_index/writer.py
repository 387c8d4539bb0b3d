"""Write paths: upsert, delete, and (re)training the centroids. Callers hold ``BEGIN IMMEDIATE``.

Each function runs inside the caller's single transaction, so a crash at any point leaves the file as
it was before the call. They keep the caller's :class:`LoadedState` in step with what they write.

- Upsert: a document whose id exists is deleted first and inserted with a fresh ``doc_no``
  (AUTOINCREMENT: numbers are never reused, other documents keep theirs).
- Insert into a trained index: tokens are assigned to their nearest centroid; the document joins
  those centroids' posting lists; residual4 encodes against them.
- Training (first time, or ``optimize()``): k-means on a seeded sample of tokens, then every document
  is decoded, re-assigned and re-encoded in batches; postings are rebuilt.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .centroids import POINTS_PER_CENTROID, CentroidSet, choose_n_centroids, train_centroids
from .codecs import FP16, RESIDUAL4, CODECS, ResidualQuantizer, encode_fp16
from .postings import PostingLists
from .schema import write_meta
from .state import LoadedState

__all__ = ["insert_documents", "delete_documents", "retrain"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
_ENCODE_TOKENS = 1 << 18  # tokens assigned/encoded per step


def _write_postings(conn: sqlite3.Connection, postings: PostingLists, touched: Sequence[int]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO postings(centroid, doc_nos) VALUES(?, ?)",
        [(int(c), postings.blob(c)) for c in sorted(set(touched))],
    )


def _encode(state: LoadedState, vectors: F32, codes: I64 | None) -> tuple[int, bytes, bytes | None]:
    """(encoding, vectors BLOB, centroids BLOB) for one document of the current state."""
    if codes is None:
        return FP16, encode_fp16(vectors), None
    distinct = np.unique(codes).astype("<u2").tobytes()
    if state.quantizer is not None:
        return RESIDUAL4, state.quantizer.encode(vectors, codes), distinct
    return FP16, encode_fp16(vectors), distinct


def _assign_many(state: LoadedState, docs: Sequence[F32]) -> list[I64 | None]:
    """Nearest-centroid codes per document (None for every document when untrained)."""
    if state.centroids is None:
        return [None] * len(docs)
    out: list[I64 | None] = []
    start = 0
    while start < len(docs):
        stop, n = start, 0
        while stop < len(docs) and (n == 0 or n + len(docs[stop]) <= _ENCODE_TOKENS):
            n += len(docs[stop])
            stop += 1
        codes = state.centroids.assign(np.concatenate(docs[start:stop]))  # (n,)
        out.extend(np.split(codes, np.cumsum([len(d) for d in docs[start:stop]])[:-1]))
        start = stop
    return out


def delete_documents(conn: sqlite3.Connection, state: LoadedState, ids: Sequence[str]) -> int:
    """Delete documents by id (missing ids are ignored); returns how many were deleted."""
    removals: dict[int, list[int]] = defaultdict(list)
    deleted = 0
    for start in range(0, len(ids), 500):
        chunk = json.dumps(list(ids[start : start + 500]))
        rows = conn.execute(
            "SELECT doc_no, centroids FROM documents WHERE id IN (SELECT value FROM json_each(?))", (chunk,)
        ).fetchall()
        for doc_no, cents in rows:
            if cents is not None:
                for c in np.frombuffer(cents, dtype="<u2"):
                    removals[int(c)].append(int(doc_no))
        conn.execute("DELETE FROM documents WHERE id IN (SELECT value FROM json_each(?))", (chunk,))
        deleted += len(rows)
    if state.postings is not None and removals:
        _write_postings(conn, state.postings, state.postings.remove(removals))
    return deleted


def insert_documents(
    conn: sqlite3.Connection,
    state: LoadedState,
    ids: Sequence[str],
    vectors: Sequence[F32],
    metadata: Sequence[str],
) -> None:
    """Upsert documents: ids (str), vectors (n_i, dim) float32, metadata as JSON text."""
    delete_documents(conn, state, ids)
    additions: dict[int, list[int]] = defaultdict(list)
    for doc_id, vecs, meta, codes in zip(ids, vectors, metadata, _assign_many(state, vectors)):
        encoding, blob, cents = _encode(state, vecs, codes)
        cur = conn.execute(
            "INSERT INTO documents(id, metadata, n_tokens, encoding, vectors, centroids) "
            "VALUES(?, ?, ?, ?, ?, ?)",
            (doc_id, meta, len(vecs), encoding, blob, cents),
        )
        if cents is not None:
            for c in np.frombuffer(cents, dtype="<u2"):
                additions[int(c)].append(int(cur.lastrowid))
    if state.postings is not None and additions:
        _write_postings(conn, state.postings, state.postings.add(additions))


def _training_sample(conn: sqlite3.Connection, state: LoadedState, n_tokens: int, seed: int) -> F32:
    """Decoded tokens of a seeded random subset of documents holding about ``n_tokens`` tokens."""
    rows = conn.execute("SELECT doc_no, n_tokens FROM documents ORDER BY doc_no").fetchall()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    lengths = np.asarray([r[1] for r in rows], dtype=np.int64)[order]
    take = int(np.searchsorted(np.cumsum(lengths), n_tokens)) + 1
    chosen = np.sort(np.asarray([rows[i][0] for i in order[:take]], dtype=np.int64))
    return np.concatenate([b.tokens for b in state.read_docs(conn, chosen)])


def retrain(conn: sqlite3.Connection, state: LoadedState, seed: int) -> LoadedState:
    """Train centroids on the current documents and re-encode everything; returns the new state."""
    total = conn.execute("SELECT COALESCE(SUM(n_tokens), 0) FROM documents").fetchone()[0]
    if total == 0:
        return state
    k = choose_n_centroids(int(total), int(state.meta["max_centroids"]))
    sample = _training_sample(conn, state, POINTS_PER_CENTROID * k, seed)
    new_centroids = CentroidSet(train_centroids(sample, k, seed))
    k = len(new_centroids)
    quantizer = None
    if CODECS[state.meta["codec"]] == RESIDUAL4:
        quantizer = ResidualQuantizer.fit_buckets(new_centroids.vectors, sample, new_centroids.assign(sample))
    new_meta = dict(state.meta, n_centroids=k, trained_tokens=int(total), residual=None)
    if quantizer is not None:
        new_meta["residual"] = {"cutoffs": quantizer.cutoffs.tolist(), "weights": quantizer.weights.tolist()}
    postings = PostingLists(k)
    new_state = LoadedState(new_meta, new_centroids, quantizer, postings)
    additions: dict[int, list[int]] = defaultdict(list)
    # Re-encode in doc_no order; read with the old state (old codec), write with the new one.
    for batch in state.read_docs(conn, None):
        docs = batch.split()
        updates = []
        for doc_no, vecs, codes in zip(batch.doc_nos, docs, _assign_many(new_state, docs)):
            encoding, blob, cents = _encode(new_state, vecs, codes)
            updates.append((encoding, blob, cents, int(doc_no)))
            for c in np.frombuffer(cents, dtype="<u2"):
                additions[int(c)].append(int(doc_no))
        conn.executemany("UPDATE documents SET encoding=?, vectors=?, centroids=? WHERE doc_no=?", updates)
    conn.execute("DELETE FROM centroids")
    conn.executemany(
        "INSERT INTO centroids(id, vector) VALUES(?, ?)",
        [(i, v.astype("<f4").tobytes()) for i, v in enumerate(new_centroids.vectors)],
    )
    conn.execute("DELETE FROM postings")
    _write_postings(conn, postings, postings.add(additions))
    write_meta(conn, {k_: new_meta[k_] for k_ in ("n_centroids", "trained_tokens", "residual")})
    return new_state

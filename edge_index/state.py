"""The in-memory view of an index file: metadata, centroids, residual quantizer, posting lists.

Loaded when an :class:`~colbert_edge.edge_index.Index` opens and reloaded whenever another connection
has committed (SQLite's ``PRAGMA data_version`` changed); this connection's own writes update it in
place. Also reads document rows and decodes them (the one place BLOBs are turned back into vectors).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from colbert_edge.errors import IndexCorrupt

from .centroids import CentroidSet
from .codecs import ResidualQuantizer, decode_blobs
from .postings import PostingLists
from .schema import read_meta

__all__ = ["LoadedState", "DocBatch", "read_rows"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
_ROWS_PER_READ = 512


class DocBatch:
    """Decoded documents: doc_nos (m,) int64, lengths (m,) int64, tokens (sum(lengths), dim) float32."""

    def __init__(self, doc_nos: I64, lengths: I64, tokens: F32) -> None:
        self.doc_nos, self.lengths, self.tokens = doc_nos, lengths, tokens

    def split(self) -> list[F32]:
        """The per-document (n_i, dim) arrays."""
        return np.split(self.tokens, np.cumsum(self.lengths)[:-1]) if len(self.lengths) else []


class LoadedState:
    """Everything search needs in memory; built complete by :meth:`load`."""

    def __init__(
        self,
        meta: dict[str, Any],
        centroids: CentroidSet | None,
        quantizer: ResidualQuantizer | None,
        postings: PostingLists | None,
    ) -> None:
        self.meta = meta
        self.dim: int = int(meta["dim"])
        self.centroids = centroids
        self.quantizer = quantizer
        self.table = quantizer.lookup_table(self.dim) if quantizer is not None else None
        self.postings = postings

    @classmethod
    def load(cls, conn: sqlite3.Connection, path: str) -> LoadedState:
        """Read meta, centroids and postings (caller handles sqlite errors via schema.guard)."""
        meta = read_meta(conn, path)
        k = int(meta["n_centroids"])
        if k == 0:
            return cls(meta, None, None, None)
        rows = conn.execute("SELECT id, vector FROM centroids ORDER BY id").fetchall()
        dim = int(meta["dim"])
        if len(rows) != k or any(len(v) != 4 * dim for _, v in rows):
            raise IndexCorrupt(f"{path}: {len(rows)} centroid rows, metadata says {k}; rebuild the index.")
        vectors = np.frombuffer(b"".join(v for _, v in rows), dtype="<f4").reshape(k, dim).astype(np.float32)
        centroids = CentroidSet(vectors)
        quantizer = None
        if meta.get("residual"):
            res = meta["residual"]
            quantizer = ResidualQuantizer(
                centroids.vectors,
                np.asarray(res["cutoffs"], dtype=np.float32),
                np.asarray(res["weights"], dtype=np.float32),
            )
        postings = PostingLists.from_rows(k, conn.execute("SELECT centroid, doc_nos FROM postings"))
        return cls(meta, centroids, quantizer, postings)

    @property
    def trained(self) -> bool:
        return self.centroids is not None

    def decode(self, rows: Sequence[tuple[int, int, int, bytes]]) -> DocBatch:
        """Rows of (doc_no, n_tokens, encoding, vectors) -> DocBatch, in row order."""
        doc_nos = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        lengths = [int(r[1]) for r in rows]
        try:
            tokens = decode_blobs(
                [r[3] for r in rows], lengths, [int(r[2]) for r in rows], self.dim, self.quantizer, self.table
            )
        except ValueError as exc:  # a BLOB of the wrong size or a centroid code out of range
            raise IndexCorrupt(
                f"stored vectors of documents {doc_nos[:5].tolist()}... cannot be decoded ({exc}); "
                "Index.check() reports the damage; rebuild the index."
            ) from exc
        return DocBatch(doc_nos, np.asarray(lengths, dtype=np.int64), tokens)

    def read_docs(self, conn: sqlite3.Connection, doc_nos: I64 | None) -> Iterator[DocBatch]:
        """Decoded documents in batches: the given doc_nos (any order), or all documents by doc_no."""
        for rows in read_rows(conn, doc_nos):
            yield self.decode(rows)


def read_rows(conn: sqlite3.Connection, doc_nos: I64 | None) -> Iterator[list[tuple[int, int, int, bytes]]]:
    """Stored rows (doc_no, n_tokens, encoding, vectors) in batches of at most ``_ROWS_PER_READ``:
    the given doc_nos (any order; missing ones skipped), or all documents by doc_no."""
    if doc_nos is not None:
        for start in range(0, len(doc_nos), _ROWS_PER_READ):
            chunk = json.dumps([int(d) for d in doc_nos[start : start + _ROWS_PER_READ]])
            rows = conn.execute(
                "SELECT doc_no, n_tokens, encoding, vectors FROM documents "
                "WHERE doc_no IN (SELECT value FROM json_each(?))",
                (chunk,),
            ).fetchall()
            if rows:
                yield rows
        return
    last = -1
    while True:
        rows = conn.execute(
            "SELECT doc_no, n_tokens, encoding, vectors FROM documents WHERE doc_no > ? "
            "ORDER BY doc_no LIMIT ?",
            (last, _ROWS_PER_READ),
        ).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield rows

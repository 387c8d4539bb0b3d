"""``Index``: a ColBERT token-vector index in one SQLite file, searched with exact MaxSim.

Lifecycle: ``Index.open(path, fingerprint=..., dim=...)`` creates or opens; ``add`` upserts,
``delete`` removes, ``search`` reads, ``optimize`` retrains and compacts, ``close`` (or ``with``).

Concurrency: any number of readers (other ``Index`` objects, threads with their own object, other
processes) search while one writer writes; SQLite WAL gives each search a consistent snapshot. A second
writer waits up to ``timeout`` seconds for the first, then raises IndexBusy; it never corrupts.
Every ``add``/``delete``/``optimize`` is one transaction: a crash leaves the state before the call.

Growth policy: below ``train_at`` documents the index has no centroids and search is exhaustive; the
``add`` that reaches ``train_at`` trains the centroids (a few seconds). Later documents are assigned to
the existing centroids. Once the index holds over 4x the tokens the centroids were trained on,
``info().optimize_recommended`` turns True; ``optimize()`` is never run implicitly.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from colbert_edge.errors import (
    DimensionMismatch,
    FingerprintMismatch,
    IndexCorrupt,
    InvalidArgument,
    InvalidVectors,
)

from . import schema
from .checks import check_ids, check_metadata, check_positive, check_vectors
from .codecs import CODECS, bytes_per_token
from .filters import compile_where
from .records import Hit, IndexInfo
from .schema import guard
from .searcher import Allowed, search_one
from .state import LoadedState
from .writer import delete_documents, insert_documents, retrain

__all__ = ["Index"]

F32 = npt.NDArray[np.float32]
_GROWTH_BEFORE_OPTIMIZE = 4
DEFAULT_TRAIN_AT = 1000
DEFAULT_NPROBE = 4
DEFAULT_CANDIDATES = 256
# The exact stage's cost follows tokens, not documents: short passages may fill up to this many.
DEFAULT_EXACT_TOKENS = 65536


class Index:
    """An open index file. Build with :meth:`open`; not shared between threads (open one per thread)."""

    def __init__(self, path: str, conn: sqlite3.Connection, state: LoadedState, seed: int) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = conn
        self._state = state
        self._seed = seed
        self._version = self._data_version()

    # ------------------------------------------------------------------ open / close
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        fingerprint: str | None = None,
        dim: int | None = None,
        codec: str = "residual4",
        train_at: int = DEFAULT_TRAIN_AT,
        max_centroids: int = 4096,
        timeout: float = 5.0,
        seed: int = 0,
    ) -> Index:
        """Open the index at ``path``, creating it if the file is missing or empty.

        Creating needs ``fingerprint`` (the encoder bundle's, an opaque string) and ``dim``; they,
        ``codec`` ("residual4" default, or "fp16"), ``train_at`` and ``max_centroids`` are recorded
        and fixed for the file's life. Opening an existing index checks ``fingerprint`` and ``dim``
        when given (FingerprintMismatch / DimensionMismatch name both values); the build parameters
        are then read from the file and the arguments ignored. Raises NotAnIndex, SchemaVersionError,
        IndexCorrupt, IndexBusy.
        """
        path = os.fspath(path)
        fresh = schema.is_empty_database(path)
        if fresh:
            _check_build_params(fingerprint, dim, codec, train_at, max_centroids)
        conn = schema.connect(path, timeout)
        try:
            with guard(path, "open"):
                if fresh or not schema.table_names(conn):
                    _check_build_params(fingerprint, dim, codec, train_at, max_centroids)
                    conn.execute("BEGIN IMMEDIATE")
                    if not schema.table_names(conn):
                        schema.create_schema(conn, {
                            "fingerprint": fingerprint, "dim": dim, "codec": codec, "train_at": train_at,
                            "max_centroids": max_centroids, "n_centroids": 0, "trained_tokens": 0,
                            "residual": None,
                        })
                    conn.execute("COMMIT")
                state = LoadedState.load(conn, path)
            _check_identity(path, state.meta, fingerprint, dim)
        except BaseException:
            conn.close()
            raise
        return cls(path, conn, state, seed)

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    # ------------------------------------------------------------------ writes
    def add(
        self,
        ids: Sequence[str],
        vectors: Sequence[F32],
        metadata: Sequence[dict[str, Any] | None] | None = None,
    ) -> None:
        """Insert documents, replacing any with the same id (upsert), in one transaction.

        ids: distinct non-empty strings. vectors: one (n_tokens, dim) float32 array per document,
        L2-normalised, n_tokens >= 1, finite. metadata: one JSON-serialisable dict (or None) per
        document; dates become ISO text. The call that brings the index to ``train_at`` documents
        also trains the centroids.
        """
        ids = check_ids(ids)
        if len(vectors) != len(ids):
            raise InvalidArgument(f"{len(ids)} ids but {len(vectors)} vector arrays; pass one array per id.")
        arrays = [check_vectors(v, self._state.dim, f"document {i!r}") for i, v in zip(ids, vectors)]
        texts = check_metadata(metadata, len(ids))
        if not ids:
            return
        with self._write("add"):
            insert_documents(self._db, self._state, ids, arrays, texts)
            if not self._state.trained and len(self) >= int(self._state.meta["train_at"]):
                self._state = retrain(self._db, self._state, self._seed)

    def delete(self, ids: Sequence[str]) -> int:
        """Delete documents by id in one transaction; unknown ids are ignored. Returns how many went.

        No other document's id, vectors or number changes.
        """
        ids = check_ids(ids)
        with self._write("delete"):
            return delete_documents(self._db, self._state, ids)

    def optimize(self) -> None:
        """Retrain the centroids on all current documents, re-encode them, then compact the file.

        Takes time proportional to the whole index (every token is re-assigned). With residual4 the
        vectors are re-encoded from their decoded form, adding one more 4-bit rounding of the
        residual. Indexes below ``train_at`` documents are only compacted.
        """
        if len(self) >= int(self._state.meta["train_at"]):
            with self._write("optimize"):
                self._state = retrain(self._db, self._state, self._seed)
        with guard(self.path, "optimize"):
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._version = self._data_version()

    # ------------------------------------------------------------------ reads
    def search(
        self,
        query_vectors: F32 | Sequence[F32],
        k: int = 10,
        where: dict[str, Any] | None = None,
        *,
        nprobe: int | None = DEFAULT_NPROBE,
        candidates: int | None = DEFAULT_CANDIDATES,
        exact_tokens: int | None = DEFAULT_EXACT_TOKENS,
    ) -> list[Hit] | list[list[Hit]]:
        """The k documents with the highest exact MaxSim among those the centroids propose.

        query_vectors: one (n_query_tokens, dim) float32 array -> list[Hit]; or a list of such
        arrays -> one list[Hit] per query. k: > 0; fewer hits only when fewer documents match.
        where: metadata filter (see filters.py). nprobe: centroids probed per query token (None =
        all). candidates: documents scored exactly after the centroid approximation (None = all
        candidates). exact_tokens: the cut also keeps the next documents in centroid-interaction order while
        the kept ones hold at most this many tokens in all (None = exactly ``candidates``), so an
        index of short passages scores more of them for the same work. nprobe=None with
        candidates=None gives the exhaustive answer.
        """
        batch = isinstance(query_vectors, (list, tuple))
        queries = list(query_vectors) if batch else [query_vectors]
        if batch and not queries:
            raise InvalidVectors("search got an empty list of queries; pass at least one query array.")
        checked = [check_vectors(q, self._state.dim, "query") for q in queries]
        k = check_positive("k", k)
        nprobe = check_positive("nprobe", nprobe, allow_none=True)
        candidates = check_positive("candidates", candidates, allow_none=True)
        exact_tokens = check_positive("exact_tokens", exact_tokens, allow_none=True)
        if candidates is not None and candidates < k:
            raise InvalidArgument(f"candidates={candidates} is below k={k}; pass candidates >= k or None.")
        condition = compile_where(where) if where is not None else None
        with guard(self.path, "search"):
            self._db.execute("BEGIN")
            try:
                self._refresh()
                allowed = None
                if condition is not None:
                    rows = self._db.execute(
                        f"SELECT doc_no FROM documents WHERE {condition[0]} ORDER BY doc_no", condition[1]
                    ).fetchall()
                    allowed = Allowed(np.asarray([r[0] for r in rows], dtype=np.int64))
                results = [
                    self._hits(*search_one(self._db, self._state, q, k, allowed, nprobe, candidates, exact_tokens))
                    for q in checked
                ]
            finally:
                self._db.execute("COMMIT")
        return results if batch else results[0]

    def get_vectors(self, ids: Sequence[str]) -> list[F32]:
        """The stored (decoded) vectors of each id, (n_tokens, dim) float32; KeyError for a missing id."""
        ids = check_ids(ids)
        with guard(self.path, "get_vectors"):
            self._refresh()
            out = []
            for doc_id in ids:
                row = self._db.execute(
                    "SELECT doc_no, n_tokens, encoding, vectors FROM documents WHERE id=?", (doc_id,)
                ).fetchone()
                if row is None:
                    raise KeyError(f"no document with id {doc_id!r} in {self.path}")
                out.append(self._state.decode([row]).tokens)
        return out

    def info(self) -> IndexInfo:
        """A summary of the file: sizes, codec, centroids, and whether optimize() is recommended."""
        with guard(self.path, "info"):
            self._refresh()
            n_docs, n_tokens, n_bytes = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(n_tokens), 0), COALESCE(SUM(length(vectors)), 0) FROM documents"
            ).fetchone()
        meta = self._state.meta
        trained = int(meta["trained_tokens"])
        size = sum(os.path.getsize(p) for p in (self.path, self.path + "-wal") if os.path.exists(p))
        return IndexInfo(
            path=self.path, fingerprint=meta["fingerprint"], dim=int(meta["dim"]), codec=meta["codec"],
            schema_version=int(meta["schema_version"]), n_documents=int(n_docs), n_tokens=int(n_tokens),
            bytes_per_token=float(n_bytes) / n_tokens if n_tokens else 0.0,
            codec_bytes_per_token=bytes_per_token(CODECS[meta["codec"]], int(meta["dim"])),
            n_centroids=int(meta["n_centroids"]), trained_tokens=trained, train_at=int(meta["train_at"]),
            optimize_recommended=trained > 0 and n_tokens > _GROWTH_BEFORE_OPTIMIZE * trained,
            file_bytes=size,
        )

    def check(self) -> None:
        """Full integrity check (SQLite's and the index's own); raises IndexCorrupt with the reason."""
        with guard(self.path, "check"):
            problems = [r[0] for r in self._db.execute("PRAGMA integrity_check").fetchall()]
            if problems != ["ok"]:
                raise IndexCorrupt(f"{self.path}: integrity check failed: {problems[:5]}; rebuild the index.")
            self._refresh()
            rows = self._db.execute("SELECT encoding, n_tokens, length(vectors) FROM documents").fetchall()
        dim = self._state.dim
        wrong = sum(1 for enc, n, size in rows if size != n * bytes_per_token(enc, dim))
        if wrong:
            raise IndexCorrupt(f"{self.path}: {wrong} document(s) have a vector BLOB of the wrong size.")
        if self._state.postings is not None:
            listed = sum(len(a) for a in self._state.postings.lists)
            with guard(self.path, "check"):
                expected = self._db.execute(
                    "SELECT COALESCE(SUM(length(centroids)), 0) / 2 FROM documents"
                ).fetchone()[0]
            if listed != expected:
                raise IndexCorrupt(f"{self.path}: posting lists hold {listed} entries, documents {expected}.")

    # ------------------------------------------------------------------ internals
    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise InvalidArgument(f"the index {self.path} is closed; open it again with Index.open().")
        return self._conn

    def _data_version(self) -> int:
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def _refresh(self) -> None:
        """Reload the in-memory state if another connection committed since we last looked."""
        version = self._data_version()
        if version != self._version:
            self._state = LoadedState.load(self._db, self.path)
            self._version = version

    def _write(self, action: str) -> _WriteTransaction:
        return _WriteTransaction(self, action)

    def _hits(self, doc_nos: npt.NDArray[np.int64], scores: F32) -> list[Hit]:
        if len(doc_nos) == 0:
            return []
        rows = self._db.execute(
            "SELECT doc_no, id, metadata FROM documents WHERE doc_no IN (SELECT value FROM json_each(?))",
            (json.dumps([int(d) for d in doc_nos]),),
        ).fetchall()
        by_no = {r[0]: (r[1], r[2]) for r in rows}
        return [
            Hit(by_no[int(d)][0], float(s), json.loads(by_no[int(d)][1])) for d, s in zip(doc_nos, scores)
        ]


class _WriteTransaction:
    """BEGIN IMMEDIATE ... COMMIT around one write call; ROLLBACK and reload state on any error."""

    def __init__(self, index: Index, action: str) -> None:
        self.index, self.action = index, action

    def __enter__(self) -> None:
        with guard(self.index.path, self.action):
            self.index._db.execute("BEGIN IMMEDIATE")
            try:
                self.index._refresh()
            except BaseException:
                self.index._db.execute("ROLLBACK")
                raise

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: Any) -> None:
        index = self.index
        with guard(index.path, self.action):
            if exc is None:
                index._db.execute("COMMIT")
                return
            index._db.execute("ROLLBACK")
            index._state = LoadedState.load(index._db, index.path)


def _check_build_params(fingerprint: Any, dim: Any, codec: Any, train_at: Any, max_centroids: Any) -> None:
    if not isinstance(fingerprint, str) or not fingerprint:
        raise InvalidArgument("creating an index needs fingerprint= (the encoder bundle's fingerprint string).")
    check_positive("dim", dim)
    if codec not in CODECS:
        raise InvalidArgument(f"codec {codec!r} is unknown; use one of {sorted(CODECS)}.")
    if codec == "residual4" and dim % 2:
        raise InvalidArgument(f"codec 'residual4' needs an even dim, got {dim}; use codec='fp16'.")
    check_positive("train_at", train_at)
    check_positive("max_centroids", max_centroids)


def _check_identity(path: str, meta: dict[str, Any], fingerprint: str | None, dim: int | None) -> None:
    if fingerprint is not None and fingerprint != meta["fingerprint"]:
        raise FingerprintMismatch(
            f"{path} holds vectors of bundle fingerprint {meta['fingerprint']!r}, not {fingerprint!r}: "
            "vectors of another model cannot be mixed. Use that bundle, or a new index file."
        )
    if dim is not None and int(dim) != int(meta["dim"]):
        raise DimensionMismatch(
            f"{path} holds {meta['dim']}-dimensional vectors, not {dim}-dimensional: use the same model, "
            "or a new index file."
        )

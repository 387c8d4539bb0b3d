"""The SQLite schema of an edge index, its metadata, and opening a file safely.

One file, WAL journal, nothing beside it that can drift (the ``-wal``/``-shm`` files are SQLite's own).

::

    meta(key TEXT PRIMARY KEY, value TEXT)            -- JSON values; keys below
    documents(
        doc_no    INTEGER PRIMARY KEY AUTOINCREMENT,  -- internal number, never reused or renumbered
        id        TEXT NOT NULL UNIQUE,               -- the caller's document id
        metadata  TEXT NOT NULL,                      -- JSON object
        n_tokens  INTEGER NOT NULL,                   -- rows in the BLOB
        encoding  INTEGER NOT NULL,                   -- 0 fp16, 1 residual4 (see codecs.py)
        vectors   BLOB NOT NULL,
        centroids BLOB)                               -- sorted distinct uint16 LE centroid ids of the
                                                      -- document's tokens; NULL before training
    centroids(id INTEGER PRIMARY KEY, vector BLOB)    -- dim float32 LE
    postings(centroid INTEGER PRIMARY KEY, doc_nos BLOB)  -- ascending int64 LE doc_no list

meta keys: ``format`` ("colbert-edge-index"), ``schema_version`` (int), ``fingerprint`` (str),
``dim`` (int), ``codec`` ("fp16" | "residual4"), ``train_at`` (documents before centroids are
trained), ``max_centroids``, ``n_centroids`` (0 = untrained), ``trained_tokens`` (tokens the
centroids were trained on), ``residual`` ({"cutoffs": [15 floats], "weights": [16 floats]} or null).
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from colbert_edge.errors import IndexBusy, IndexCorrupt, NotAnIndex, SchemaVersionError

__all__ = ["SCHEMA_VERSION", "FORMAT", "connect", "create_schema", "read_meta", "write_meta", "guard"]

FORMAT = "colbert-edge-index"
SCHEMA_VERSION = 1

_DDL = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents(
    doc_no INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    metadata TEXT NOT NULL,
    n_tokens INTEGER NOT NULL CHECK (n_tokens > 0),
    encoding INTEGER NOT NULL,
    vectors BLOB NOT NULL,
    centroids BLOB);
CREATE TABLE centroids(id INTEGER PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE postings(centroid INTEGER PRIMARY KEY, doc_nos BLOB NOT NULL);
"""


class guard:
    """Context manager turning sqlite3 errors into named errors (busy, damaged, not an index)."""

    def __init__(self, path: str, action: str) -> None:
        self.path, self.action = path, action

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: Any) -> bool:
        if exc is None or not isinstance(exc, sqlite3.Error):
            return False
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise IndexBusy(
                f"{self.path}: another writer holds the index; {self.action} gave up waiting "
                f"({text}). Retry later or open with a larger timeout=."
            ) from exc
        if "not a database" in text:
            raise NotAnIndex(f"{self.path} is not a SQLite database, so not a colbert-edge index.") from exc
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.IntegrityError):
            raise IndexCorrupt(
                f"{self.path}: the index file is damaged ({text}) during {self.action}; "
                "rebuild it from the source documents."
            ) from exc
        return False


def connect(path: str, timeout: float) -> sqlite3.Connection:
    """Open the SQLite connection with the pragmas an index needs (WAL, busy timeout, mmap).

    Transactions are explicit (``isolation_level=None``): writers ``BEGIN IMMEDIATE``.
    """
    with guard(path, "open"):
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=True)
        try:
            conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise IndexBusy(f"{path}: could not switch the index to WAL mode (got {mode!r}).")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA mmap_size=1073741824")
        except BaseException:
            conn.close()
            raise
    return conn


def create_schema(conn: sqlite3.Connection, meta: dict[str, Any]) -> None:
    """Create the tables and write ``meta`` in one transaction (caller holds BEGIN IMMEDIATE)."""
    for statement in _DDL.strip().split(";"):
        if statement.strip():
            conn.execute(statement)
    write_meta(conn, {"format": FORMAT, "schema_version": SCHEMA_VERSION, **meta})


def write_meta(conn: sqlite3.Connection, values: dict[str, Any]) -> None:
    """Upsert meta keys (values stored as JSON)."""
    conn.executemany(
        "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
        [(k, json.dumps(v)) for k, v in values.items()],
    )


def table_names(conn: sqlite3.Connection) -> set[str]:
    """Names of the user tables in the database."""
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    return {r[0] for r in rows}


def read_meta(conn: sqlite3.Connection, path: str) -> dict[str, Any]:
    """Read and validate meta: NotAnIndex for a foreign database, SchemaVersionError for a newer one."""
    with guard(path, "open"):
        tables = table_names(conn)
        if "meta" not in tables:
            raise NotAnIndex(
                f"{path} is a SQLite database but not a colbert-edge index (no 'meta' table; "
                f"tables: {sorted(tables)}). Pass the path of an index, or a new file name."
            )
        rows = conn.execute("SELECT key, value FROM meta").fetchall()
    try:
        meta = {k: json.loads(v) for k, v in rows}
    except (TypeError, ValueError) as exc:
        raise IndexCorrupt(f"{path}: unreadable metadata ({exc}); rebuild the index.") from exc
    if meta.get("format") != FORMAT:
        raise NotAnIndex(f"{path} has a 'meta' table but its format is {meta.get('format')!r}, not {FORMAT!r}.")
    version = meta.get("schema_version")
    if not isinstance(version, int):
        raise IndexCorrupt(f"{path}: schema_version {version!r} is not an integer; rebuild the index.")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path} was written with index schema version {version}; this colbert-edge reads up to "
            f"{SCHEMA_VERSION}. Upgrade colbert-edge to open it."
        )
    missing = {"dim", "fingerprint", "codec", "n_centroids"} - meta.keys()
    if missing or not {"documents", "centroids", "postings"} <= tables:
        raise IndexCorrupt(f"{path}: index metadata or tables are missing ({sorted(missing)}); rebuild it.")
    return meta


def is_empty_database(path: str) -> bool:
    """True for a path that does not exist or holds no bytes (a new index may be created there)."""
    return not os.path.exists(path) or os.path.getsize(path) == 0

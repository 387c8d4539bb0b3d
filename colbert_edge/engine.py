"""``Engine``: the encoder and the edge index joined, for apps that embed colbert-edge.

::

    from colbert_edge import Engine
    with Engine.open("notes.db", bundle="bundle/") as engine:    # the bundle is remembered
        engine.index_paths(["~/Notes", "~/Mail/inbox.mbox"])     # incremental
        for r in engine.search("wifi password", k=5, where={"kind": "note"}):
            print(r.score, r.title, r.snippet.render())

Notes and mails (see :mod:`colbert_edge.sources`) are split into passages that fit the bundle's
document_length (:mod:`colbert_edge.passages`); each passage is one index document with id
``"<key>#p<n>"`` and metadata = the source's metadata + ``key``, ``title``, ``passage``, ``text``.
Search asks the index for passages and groups them back per note or message (its best passage).

Incremental indexing: the index file also holds two app tables, ``app_meta`` (the bundle path)
and ``app_files`` (key -> content hash and passage ids). A source whose hash is unchanged is not
encoded again; a changed one is re-encoded and its old passages replaced; a source that vanished
from a scanned path is removed. Each batch of sources is committed with its ``app_files`` rows, so
a killed run resumes without redoing finished files.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colbert_edge.edge_index import Index
from colbert_edge.errors import BundleError, InvalidArgument
from colbert_edge.highlight import Snippet, make_snippet, matched_spans
from colbert_edge.passages import split_passages
from colbert_edge.runtime import Encoder
from colbert_edge.sources import Skipped, SourceDocument, scan

__all__ = ["Engine", "SearchResult", "IndexReport", "IndexProgress"]

PASSAGE_OVERLAP = 32
BATCH_PASSAGES = 64

_APP_DDL = """
CREATE TABLE IF NOT EXISTS app_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS app_files(key TEXT PRIMARY KEY, content_hash TEXT NOT NULL, passages TEXT NOT NULL);
"""

IndexProgress = Callable[[int, int, int], None]
"""Called as ``progress(sources_done, sources_total, passages_done)`` while indexing."""


@dataclass(frozen=True)
class SearchResult:
    """One note or message: its best passage's score, a snippet with the matched terms."""

    key: str
    score: float
    title: str
    kind: str
    path: str
    passage: int
    snippet: Snippet
    metadata: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (CLI --json and the HTTP API)."""
        return {"key": self.key, "score": round(self.score, 4), "title": self.title, "kind": self.kind,
                "path": self.path, "passage": self.passage, "snippet": self.snippet.text,
                "highlights": [list(h) for h in self.snippet.highlights], "metadata": self.metadata}


@dataclass(frozen=True)
class IndexReport:
    """What one ``index_paths`` run did."""

    sources: int
    encoded: int
    unchanged: int
    removed: int
    passages: int
    skipped: tuple[Skipped, ...]
    seconds: float


@dataclass
class _Pending:
    documents: list[SourceDocument] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    metadata: list[dict[str, Any]] = field(default_factory=list)


class Engine:
    """An index file plus the bundle that encodes its queries. Build with :meth:`open`."""

    def __init__(self, index: Index, app: sqlite3.Connection, bundle: Path, threads: int | None) -> None:
        self.index = index
        self._app = app
        self.bundle = bundle
        self._threads = threads
        self._encoder: Encoder | None = None

    @classmethod
    def open(cls, db: str | os.PathLike[str], bundle: str | os.PathLike[str] | None = None, *,
             threads: int | None = None, codec: str = "residual4") -> "Engine":
        """Open or create the index ``db``. ``bundle`` is required when creating; later it defaults
        to the bundle recorded in the file (a different bundle must have the same fingerprint)."""
        db = os.fspath(db)
        recorded = _recorded_bundle(db)
        chosen = Path(bundle) if bundle is not None else recorded
        if chosen is None:
            if os.path.exists(db) and os.path.getsize(db) > 0:
                Index.open(db).close()  # a foreign or damaged file gets its own named error first
            raise BundleError(f"{db} records no model bundle; pass the bundle with --model BUNDLE")
        encoder = Encoder.load(chosen, threads=threads)
        index = Index.open(db, fingerprint=encoder.fingerprint, dim=encoder.dim, codec=codec)
        app = sqlite3.connect(db, timeout=30.0, isolation_level=None)
        app.executescript(_APP_DDL)
        app.execute("INSERT OR REPLACE INTO app_meta VALUES ('bundle', ?)", (str(chosen.resolve()),))
        engine = cls(index, app, chosen, threads)
        engine._encoder = encoder
        return engine

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = Encoder.load(self.bundle, threads=self._threads)
        return self._encoder

    def close(self) -> None:
        self.index.close()
        self._app.close()
        if self._encoder is not None:
            self._encoder.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ indexing
    def index_paths(self, paths: Iterable[str | os.PathLike[str]], *, progress: IndexProgress | None = None,
                    on_skip: Callable[[Skipped], None] | None = None) -> IndexReport:
        """Index notes folders and mailboxes incrementally (see the module docstring)."""
        started = time.perf_counter()
        roots = [str(Path(p).expanduser().resolve()) for p in paths]
        known = dict(self._app.execute("SELECT key, content_hash FROM app_files").fetchall())
        seen: set[str] = set()
        todo: list[SourceDocument] = []
        skipped: list[Skipped] = []
        for item in scan(roots):
            if isinstance(item, Skipped):
                skipped.append(item)
                if on_skip is not None:
                    on_skip(item)
                continue
            seen.add(item.key)
            if known.get(item.key) != item.content_hash:
                todo.append(item)
        gone = [key for key in known if key not in seen and any(_under(key, r) for r in roots)]
        self.remove(gone)
        n_passages = 0
        pending = _Pending()
        for done, document in enumerate(todo, 1):
            self._stage(pending, document)
            if len(pending.ids) >= BATCH_PASSAGES or done == len(todo):
                n_passages += self._flush(pending)
                pending = _Pending()
                if progress is not None:
                    progress(done, len(todo), n_passages)
        return IndexReport(sources=len(seen), encoded=len(todo), unchanged=len(seen) - len(todo), removed=len(gone),
                           passages=n_passages, skipped=tuple(skipped), seconds=time.perf_counter() - started)

    def add_texts(self, documents: Sequence[dict[str, Any]]) -> int:
        """Add or replace documents given as ``{"id", "text", "metadata"?, "title"?}``; returns passages."""
        pending = _Pending()
        for doc in documents:
            if not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or not isinstance(doc.get("text"), str):
                raise InvalidArgument(f"each document needs a string 'id' and 'text', got {str(doc)[:80]!r}")
            metadata = doc.get("metadata") or {}
            if not isinstance(metadata, dict):
                raise InvalidArgument(f"metadata of {doc['id']!r} must be an object")
            text = doc["text"]
            self._stage(pending, SourceDocument(
                key=doc["id"], kind=str(metadata.get("kind", "text")), path=str(metadata.get("path", "")),
                title=str(doc.get("title") or text.strip().split("\n")[0][:80]), text=text, metadata=metadata,
                content_hash=hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()))
        return self._flush(pending)

    def remove(self, keys: Sequence[str]) -> int:
        """Remove notes/messages (all their passages) by key; returns how many were known."""
        removed = 0
        for key in keys:
            row = self._app.execute("SELECT passages FROM app_files WHERE key=?", (key,)).fetchone()
            if row is None:
                continue
            self.index.delete(json.loads(row[0]))
            self._app.execute("DELETE FROM app_files WHERE key=?", (key,))
            removed += 1
        return removed

    def _stage(self, pending: _Pending, document: SourceDocument) -> None:
        tokenizer = self.encoder.tokenizer
        passages = split_passages(document.text, tokenizer.token_spans(document.text),
                                  tokenizer.content_budget(), PASSAGE_OVERLAP)
        pending.documents.append(document)
        for passage in passages:
            if not passage.text.strip():
                continue
            pending.ids.append(f"{document.key}#p{passage.index}")
            pending.texts.append(passage.text)
            pending.metadata.append({**document.metadata, "key": document.key, "title": document.title,
                                     "kind": document.kind, "path": document.path,
                                     "passage": passage.index, "text": passage.text})

    def _flush(self, pending: _Pending) -> int:
        if pending.ids:
            vectors = self.encoder.encode_documents(pending.texts)
            self.index.add(pending.ids, vectors, pending.metadata)
        for document in pending.documents:
            prefix = f"{document.key}#p"
            new = [i for i in pending.ids if i.startswith(prefix)]
            row = self._app.execute("SELECT passages FROM app_files WHERE key=?", (document.key,)).fetchone()
            stale = sorted(set(json.loads(row[0])) - set(new)) if row else []
            if stale:
                self.index.delete(stale)
            self._app.execute("INSERT OR REPLACE INTO app_files VALUES (?, ?, ?)",
                              (document.key, document.content_hash, json.dumps(new)))
        return len(pending.ids)

    # ------------------------------------------------------------------ search
    def search(self, query: str, k: int = 10, where: dict[str, Any] | None = None, *,
               nprobe: int | None = 4, snippet_width: int = 240) -> list[SearchResult]:
        """The ``k`` best notes/messages for ``query``, each with its best passage's snippet."""
        if not isinstance(k, int) or k <= 0:
            raise InvalidArgument(f"k must be a positive integer, got {k!r}")
        query_vectors = self.encoder.encode_queries([query])[0]  # (query_length, dim)
        want = max(4 * k, 40)
        hits = self.index.search(query_vectors, k=want, where=where, nprobe=nprobe, candidates=max(256, want))
        best: dict[str, Any] = {}
        for hit in hits:
            key = hit.metadata.get("key", hit.id)
            if key not in best:
                best[key] = hit
        results = []
        for key, hit in list(best.items())[:k]:
            text = str(hit.metadata.get("text", ""))
            doc_vectors = self.index.get_vectors([hit.id])[0]
            spans = matched_spans(query_vectors, doc_vectors, self.encoder.tokenizer.kept_spans(text), text)
            meta = {k2: v for k2, v in hit.metadata.items() if k2 != "text"}
            results.append(SearchResult(
                key=key, score=hit.score, title=str(meta.get("title", key)), kind=str(meta.get("kind", "")),
                path=str(meta.get("path", "")), passage=int(meta.get("passage", 0)),
                snippet=make_snippet(text, spans, snippet_width), metadata=meta))
        return results

    def info(self) -> dict[str, Any]:
        """The index summary plus the bundle and the number of sources."""
        info = self.index.info()
        n_sources = self._app.execute("SELECT COUNT(*) FROM app_files").fetchone()[0]
        return {**info.__dict__, "bundle": str(self.bundle), "n_sources": int(n_sources)}


def _under(key: str, root: str) -> bool:
    path = key.split("#", 1)[0]
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _recorded_bundle(db: str) -> Path | None:
    """The bundle path an existing index file records, if any (read-only, no side effects)."""
    if not os.path.exists(db) or os.path.getsize(db) == 0:
        return None
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5.0)
        try:
            row = conn.execute("SELECT value FROM app_meta WHERE key='bundle'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None  # not an index / no app tables: Index.open gives the precise error
    return Path(row[0]) if row else None

"""``colbert-edge serve``: a local JSON HTTP API over one :class:`Engine`, for desktop apps.

Binds to 127.0.0.1 unless told otherwise. Every request and response body is JSON::

    GET  /info                                   -> the index summary
    POST /search {"query": str, "k"?: int, "where"?: {...}}   -> {"results": [...]}
    POST /add    {"documents": [{"id", "text", "metadata"?, "title"?}, ...]} -> {"passages": n}
    POST /delete {"ids": [str, ...]}             -> {"deleted": n}

Bodies over ``MAX_BODY`` bytes get 413; malformed JSON or arguments 400 with ``{"error": "..."}``;
unknown paths 404; wrong methods 405. One engine serves all requests, one at a time, on one
worker thread (SQLite connections belong to the thread that opened them); searches take milliseconds.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from colbert_edge.engine import Engine
from colbert_edge.errors import ColbertEdgeError

__all__ = ["MAX_BODY", "make_server", "serve"]

MAX_BODY = 1 << 20


class _ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def _results(engine: Engine, body: dict[str, Any]) -> dict[str, Any]:
    query, k, where = body.get("query"), body.get("k", 10), body.get("where")
    if not isinstance(query, str) or not query.strip():
        raise _ApiError(HTTPStatus.BAD_REQUEST, "'query' must be a non-empty string")
    if where is not None and not isinstance(where, dict):
        raise _ApiError(HTTPStatus.BAD_REQUEST, "'where' must be an object")
    results = engine.search(query, k=k, where=where)
    return {"results": [r.to_dict() for r in results]}


def _add(engine: Engine, body: dict[str, Any]) -> dict[str, Any]:
    documents = body.get("documents")
    if not isinstance(documents, list) or not documents:
        raise _ApiError(HTTPStatus.BAD_REQUEST, "'documents' must be a non-empty list")
    return {"passages": engine.add_texts(documents)}


def _delete(engine: Engine, body: dict[str, Any]) -> dict[str, Any]:
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise _ApiError(HTTPStatus.BAD_REQUEST, "'ids' must be a list of strings")
    return {"deleted": engine.remove(ids)}


ROUTES = {("POST", "/search"): _results, ("POST", "/add"): _add, ("POST", "/delete"): _delete,
          ("GET", "/info"): lambda engine, _body: engine.info()}


def make_server(db: str, *, bundle: str | None = None, host: str = "127.0.0.1", port: int = 8765,
                threads: int | None = None) -> ThreadingHTTPServer:
    """A ready server (call ``serve_forever``); ``port=0`` picks a free port (see ``server_address``)."""
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="colbert-edge-engine")
    engine = worker.submit(Engine.open, db, bundle=bundle, threads=threads).result()

    class Handler(BaseHTTPRequestHandler):
        server_version = "colbert-edge"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
            return

        def _reply(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            try:
                route = ROUTES.get((method, self.path.split("?", 1)[0]))
                if route is None:
                    known = {p for _, p in ROUTES}
                    if self.path in known:
                        raise _ApiError(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} is not allowed on {self.path}")
                    raise _ApiError(HTTPStatus.NOT_FOUND, f"no endpoint {self.path}; use /search, /add, /delete, /info")
                body = self._body() if method == "POST" else {}
                payload = worker.submit(route, engine, body).result()
                self._reply(HTTPStatus.OK, payload)
            except _ApiError as exc:
                self._reply(exc.status, {"error": str(exc)})
            except ColbertEdgeError as exc:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": str(exc), "type": type(exc).__name__})

        def _body(self) -> dict[str, Any]:
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                raise _ApiError(HTTPStatus.LENGTH_REQUIRED, "send a JSON body with a Content-Length header")
            if int(length) > MAX_BODY:
                self.close_connection = True
                if int(length) <= 16 * MAX_BODY:  # drain it so the client reads the 413, not a broken pipe
                    left = int(length)
                    while left > 0:
                        left -= len(self.rfile.read(min(left, 1 << 16)) or b"x" * left)
                raise _ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {length} bytes is over the {MAX_BODY}-byte limit")
            try:
                body = json.loads(self.rfile.read(int(length)) or b"{}")
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise _ApiError(HTTPStatus.BAD_REQUEST, f"body is not valid JSON ({exc})") from exc
            if not isinstance(body, dict):
                raise _ApiError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
            return body

        def do_GET(self) -> None:  # noqa: N802
            self._handle("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._handle("POST")

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    original_close = server.server_close

    def close() -> None:
        original_close()
        worker.submit(engine.close).result()
        worker.shutdown()

    server.server_close = close  # type: ignore[method-assign]
    return server


def serve(db: str, *, bundle: str | None = None, host: str = "127.0.0.1", port: int = 8765,
          threads: int | None = None) -> None:
    """Serve until interrupted."""
    import sys

    server = make_server(db, bundle=bundle, host=host, port=port, threads=threads)
    print(f"colbert-edge: serving {db} on http://{server.server_address[0]}:{server.server_address[1]}", file=sys.stderr)
    try:
        server.serve_forever()
    finally:
        server.server_close()

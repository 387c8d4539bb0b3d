"""colbert-edge: on-device multilingual late-interaction search.

The umbrella package. Heavy parts load lazily: ``import colbert_edge`` imports neither torch
nor onnxruntime. The on-device packages are :mod:`colbert_edge.runtime` (text -> token vectors)
and :mod:`colbert_edge.edge_index` (token vectors -> search); :mod:`colbert_edge.export` is the
workstation-only exporter (needs the ``[export]`` extra). :class:`Engine` joins runtime and index
for apps (notes, mail, search with snippets)::

    from colbert_edge import Engine
    with Engine.open("notes.db", bundle="bundle/") as engine:
        engine.index_paths(["~/Notes"])
        results = engine.search("wifi password", k=5)
"""

from __future__ import annotations

from typing import Any

from colbert_edge.errors import ColbertEdgeError

__version__ = "0.1.0"
__all__ = ["ColbertEdgeError", "Engine", "SearchResult", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Engine", "SearchResult"):
        from colbert_edge import engine

        return getattr(engine, name)
    raise AttributeError(name)

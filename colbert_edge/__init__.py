"""colbert-edge: on-device multilingual late-interaction search.

The umbrella package. Heavy parts load lazily: ``import colbert_edge`` imports neither torch
nor onnxruntime. The on-device packages are :mod:`colbert_edge.runtime` (text -> token vectors)
and :mod:`colbert_edge.edge_index` (token vectors -> search); :mod:`colbert_edge.export` is the
workstation-only exporter (needs the ``[export]`` extra).
"""

from __future__ import annotations

from colbert_edge.errors import ColbertEdgeError

__version__ = "0.1.0"
__all__ = ["ColbertEdgeError", "__version__"]

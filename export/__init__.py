"""colbert_edge.export: a PyLate ColBERT model -> a verified, quantized ONNX bundle. Workstation only.

Needs the ``[export]`` extra (torch, transformers, onnx)::

    from colbert_edge.export import export_model
    report = export_model("path/to/LFM2-ColBERT-350M", "bundle/", precision="int8")
    report.manifest.parity   # measured fp32 / int8 figures

Importing this package does not import torch; :func:`export_model` does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["export_model", "ExportReport"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from colbert_edge.export import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)

"""Input checks for the index: every bad argument becomes a named error that says what to do."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from colbert_edge.errors import DimensionMismatch, InvalidArgument, InvalidVectors

__all__ = ["check_vectors", "check_ids", "check_metadata", "check_positive"]

F32 = npt.NDArray[np.float32]


def check_vectors(vectors: Any, dim: int, what: str) -> F32:
    """One (n, dim) array of finite numbers with n >= 1 -> C-contiguous float32 copy-or-view."""
    if hasattr(vectors, "detach"):  # a torch tensor from PyLate code; torch itself is never imported
        vectors = vectors.detach().cpu().numpy()
    try:
        array = np.asarray(vectors)
    except (TypeError, ValueError) as exc:
        raise InvalidVectors(f"{what}: cannot be read as a numeric array ({exc}).") from exc
    if array.dtype.kind not in "fiu":
        raise InvalidVectors(f"{what}: dtype {array.dtype} is not numeric; pass float32 vectors.")
    if array.ndim != 2:
        raise InvalidVectors(
            f"{what}: expected a 2-D (n_tokens, {dim}) array, got shape {array.shape}."
        )
    if array.shape[0] == 0:
        raise InvalidVectors(f"{what}: has no token vectors (shape {array.shape}); pass at least one row.")
    if array.shape[1] != dim:
        raise DimensionMismatch(
            f"{what}: vectors have dimension {array.shape[1]}, the index holds dimension {dim}. "
            "Use vectors from the model the index was built with."
        )
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).any(axis=1).sum())
        raise InvalidVectors(f"{what}: {bad} token vector(s) hold NaN or inf; check the encoder output.")
    return array


def check_ids(ids: Any) -> list[str]:
    """A sequence of distinct, non-empty strings."""
    if isinstance(ids, str) or not isinstance(ids, Sequence):
        raise InvalidArgument(f"ids must be a list of strings, got {type(ids).__name__}.")
    out = list(ids)
    for doc_id in out:
        if not isinstance(doc_id, str) or not doc_id:
            raise InvalidArgument(f"document id {doc_id!r} is not a non-empty string; convert ids with str().")
    if len(set(out)) != len(out):
        dup = next(d for d in out if out.count(d) > 1)
        raise InvalidArgument(f"document id {dup!r} appears twice in one call; pass each id once.")
    return out


def check_metadata(metadata: Sequence[dict[str, Any] | None] | None, n: int) -> list[str]:
    """One JSON object (or None) per document -> JSON texts."""
    if metadata is None:
        return ["{}"] * n
    if isinstance(metadata, dict) or len(metadata) != n:
        raise InvalidArgument(f"metadata must be a list of {n} dicts (or None), one per document.")
    out = []
    for i, item in enumerate(metadata):
        if item is None:
            item = {}
        if not isinstance(item, dict):
            raise InvalidArgument(f"metadata[{i}] is {type(item).__name__}, expected a dict.")
        try:
            out.append(json.dumps(item, ensure_ascii=False, allow_nan=False, default=_iso))
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"metadata[{i}] is not JSON-serialisable ({exc}).") from exc
    return out


def _iso(value: Any) -> str:
    """Dates and datetimes in metadata are stored as ISO 8601 text (so range filters order them)."""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def check_positive(name: str, value: Any, allow_none: bool = False) -> int | None:
    """An int > 0 (or None when allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise InvalidArgument(f"{name} must be a positive integer, got {value!r}.")
    return int(value)

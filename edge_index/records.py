"""Typed records an index returns: search hits and the index summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Hit", "IndexInfo"]


@dataclass(frozen=True)
class Hit:
    """One search result: the caller's document id, its exact MaxSim score, its metadata."""

    id: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IndexInfo:
    """What ``Index.info()`` reports.

    ``bytes_per_token`` is measured over the stored vector BLOBs (documents kept as fp16 until the
    centroids are trained count at fp16 size); ``codec_bytes_per_token`` is the codec's nominal size.
    ``optimize_recommended`` is True once the index holds more than 4x the tokens its centroids were
    trained on: call ``optimize()`` then (it is never run implicitly).
    """

    path: str
    fingerprint: str
    dim: int
    codec: str
    schema_version: int
    n_documents: int
    n_tokens: int
    bytes_per_token: float
    codec_bytes_per_token: int
    n_centroids: int
    trained_tokens: int
    train_at: int
    optimize_recommended: bool
    file_bytes: int

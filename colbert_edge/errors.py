"""Every error colbert-edge raises on bad input.

One base class, :class:`ColbertEdgeError`; each subclass also derives from the builtin that fits, so
callers can catch either. Messages name the bad value, what was expected, and the fix.
This module imports nothing heavy: the on-device packages import it too.
"""

from __future__ import annotations

__all__ = [
    "ColbertEdgeError",
    # model folders and export
    "ModelSourceError",
    "HubUnavailable",
    "UnsupportedArchitecture",
    "DimensionMismatch",
    "VerificationFailed",
    "OutputNotWritable",
    # bundles and the runtime
    "BundleError",
    "InvalidText",
    # the edge index
    "NotAnIndex",
    "IndexCorrupt",
    "SchemaVersionError",
    "FingerprintMismatch",
    "InvalidVectors",
    "InvalidArgument",
    "IndexBusy",
]


class ColbertEdgeError(Exception):
    """Base class of every error colbert-edge raises on purpose."""


class ModelSourceError(ColbertEdgeError, ValueError):
    """A model folder that is not a PyLate / sentence-transformers ColBERT model."""


class HubUnavailable(ColbertEdgeError, ConnectionError):
    """A hub id was given but the hub cannot be reached (offline machine)."""


class UnsupportedArchitecture(ColbertEdgeError, ValueError):
    """The backbone's architecture is not one the exporter knows how to wrap."""


class DimensionMismatch(ColbertEdgeError, ValueError):
    """Two sizes that must agree do not (Dense input vs backbone, vectors vs index)."""


class VerificationFailed(ColbertEdgeError, RuntimeError):
    """An exported graph does not reproduce the PyTorch reference within tolerance."""


class OutputNotWritable(ColbertEdgeError, PermissionError):
    """The output path cannot be written."""


class BundleError(ColbertEdgeError, ValueError):
    """A bundle folder is missing a file, has a bad manifest, or a file whose hash does not match."""


class InvalidText(ColbertEdgeError, TypeError):
    """Something that is not a string was given where text is expected."""


class NotAnIndex(ColbertEdgeError, ValueError):
    """A file that is not a colbert-edge index (another SQLite database, or not SQLite at all)."""


class IndexCorrupt(ColbertEdgeError, RuntimeError):
    """An index file that is damaged (integrity check failed, truncated, inconsistent)."""


class SchemaVersionError(ColbertEdgeError, RuntimeError):
    """An index written by a newer colbert-edge (schema version this one does not know)."""


class FingerprintMismatch(ColbertEdgeError, ValueError):
    """Vectors from another model (bundle fingerprint) than the one the index holds."""


class InvalidVectors(ColbertEdgeError, ValueError):
    """Vectors with NaN/inf values, no rows, or the wrong rank/dtype."""


class InvalidArgument(ColbertEdgeError, ValueError):
    """An argument out of range (k <= 0, a malformed filter, an unknown option)."""


class IndexBusy(ColbertEdgeError, TimeoutError):
    """Another writer holds the index and did not release it in time."""

"""Centroid -> document posting lists, in memory, and the centroid-level approximate score.

A posting list is the ascending int64 array of ``doc_no`` whose tokens have that centroid as nearest
(stored as one int64 LE BLOB per centroid in the ``postings`` table). The approximate score of a
document (PLAID's centroid interaction, restricted to the probed centroids) is

    approx(Q, D) = sum over query tokens i of  max over probed centroids c that D holds of  Q[i] . C[c]

a cheap stand-in for MaxSim that ranks candidates before exact scoring. Documents holding none of
the probed centroids are not candidates.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

__all__ = ["PostingLists"]

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
_EMPTY = np.empty(0, dtype=np.int64)


class PostingLists:
    """One ascending int64 doc_no array per centroid."""

    def __init__(self, n_centroids: int) -> None:
        self.lists: list[I64] = [_EMPTY] * n_centroids

    @classmethod
    def from_rows(cls, n_centroids: int, rows: Iterable[tuple[int, bytes]]) -> PostingLists:
        """Build from ``(centroid, doc_nos BLOB)`` rows of the postings table."""
        out = cls(n_centroids)
        for centroid, blob in rows:
            out.lists[centroid] = np.frombuffer(blob, dtype="<i8").astype(np.int64)
        return out

    def add(self, additions: dict[int, list[int]]) -> list[int]:
        """Append new doc_nos (each larger than any present) per centroid; returns touched centroids."""
        for c, docs in additions.items():
            self.lists[c] = np.concatenate([self.lists[c], np.asarray(sorted(docs), dtype=np.int64)])
        return list(additions)

    def remove(self, removals: dict[int, list[int]]) -> list[int]:
        """Remove doc_nos per centroid; returns touched centroids."""
        for c, docs in removals.items():
            current = self.lists[c]
            self.lists[c] = current[~np.isin(current, np.asarray(docs, dtype=np.int64))]
        return list(removals)

    def blob(self, centroid: int) -> bytes:
        """The stored form of one list."""
        return self.lists[centroid].astype("<i8").tobytes()

    def approximate(
        self, probe_scores: F32, probe_ids: I64, allowed: npt.NDArray[np.bool_] | None
    ) -> tuple[I64, F32]:
        """Candidates and their approximate scores.

        probe_scores, probe_ids: (q, nprobe) float32 / int64, each query token's probed centroids,
        best first. allowed: optional bool mask indexed by doc_no (False = filtered out; doc_nos past
        its end are not allowed). Returns (doc_nos (m,) int64 ascending, approx (m,) float32).
        """
        q = probe_ids.shape[0]
        flat = probe_ids.ravel()
        order = np.argsort(flat, kind="stable")  # group the (token, centroid) pairs by centroid
        centroids, starts = np.unique(flat[order], return_index=True)
        groups = np.split(order, starts[1:])
        width = 1 + max((int(self.lists[c][-1]) for c in centroids if len(self.lists[c])), default=-1)
        if width == 0:
            return _EMPTY, np.empty(0, dtype=np.float32)
        # Missing-similarity imputation: a token none of whose probed centroids the document holds
        # scores as its weakest probed centroid (an upper bound of what the probe missed).
        best = np.empty((q, width), dtype=np.float32)  # (q, docs)
        best[:] = probe_scores[:, -1:]
        touched = np.zeros(width, dtype=bool)
        scores = probe_scores.ravel()
        for c, pairs in zip(centroids, groups):
            docs = self.lists[c]
            if not len(docs):
                continue
            tokens = pairs // probe_ids.shape[1]  # query tokens that probed c
            block = np.ix_(tokens, docs)
            best[block] = np.maximum(best[block], scores[pairs][:, None])  # (len(tokens), len(docs))
            touched[docs] = True
        if allowed is not None:
            n = min(width, len(allowed))
            touched[n:] = False
            touched[:n] &= allowed[:n]
        doc_nos = np.flatnonzero(touched).astype(np.int64)
        return doc_nos, best[:, doc_nos].sum(axis=0)

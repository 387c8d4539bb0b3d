"""Exact late-interaction (MaxSim) scoring: the one reference every search path is checked against.

Contract: for a query ``Q`` of shape ``(q, dim)`` and a document ``D`` of shape ``(n, dim)``, both float32,

    score(Q, D) = sum over query tokens i of  max over document tokens j of  Q[i] . D[j]

No division by length, no zero padding: a document's padding never takes part (unlike
``pylate.rank.rerank``, which pads documents with zero vectors so a max can never fall below 0).
The index's search scores its final candidates with :func:`maxsim_packed`; the tests and the benchmark
use :func:`maxsim` / :func:`exhaustive_search` as the exhaustive reference. Both run the same code.

>>> import numpy as np
>>> q = np.array([[1, 0], [0, 1]], dtype=np.float32)        # 2 query tokens, dim 2
>>> d1 = np.array([[1, 0], [0.6, 0.8]], dtype=np.float32)   # maxes: 1.0 and 0.8 -> 1.8
>>> d2 = np.array([[0, -1]], dtype=np.float32)              # maxes: 0.0 and -1.0 -> -1.0
>>> [round(float(s), 3) for s in maxsim(q, [d1, d2])]
[1.8, -1.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["maxsim", "maxsim_packed", "exhaustive_search"]

F32 = npt.NDArray[np.float32]

# Tokens scored per matrix product: bounds the (q, chunk) similarity block to a few MB.
_CHUNK_TOKENS = 65536


def maxsim_packed(query: F32, tokens: F32, lengths: npt.NDArray[np.int64]) -> F32:
    """MaxSim of one query against documents packed back to back.

    query: (q, dim) float32. tokens: (sum(lengths), dim) float32, document i's rows are
    ``tokens[offset_i : offset_i + lengths[i]]``. lengths: (n_docs,) int, every entry >= 1.
    Returns (n_docs,) float32 scores.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n_docs = len(lengths)
    out = np.empty(n_docs, dtype=np.float32)
    if n_docs == 0:
        return out
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    start_doc = 0
    while start_doc < n_docs:
        # Take whole documents until the chunk holds about _CHUNK_TOKENS tokens.
        stop_doc = int(np.searchsorted(offsets, offsets[start_doc] + _CHUNK_TOKENS, side="right"))
        stop_doc = max(stop_doc - 1, start_doc + 1)
        lo, hi = offsets[start_doc], offsets[stop_doc]
        sims = query @ tokens[lo:hi].T  # (q, chunk_tokens)
        starts = offsets[start_doc:stop_doc] - lo  # (chunk_docs,)
        per_doc = np.maximum.reduceat(sims, starts, axis=1)  # (q, chunk_docs)
        out[start_doc:stop_doc] = per_doc.sum(axis=0)
        start_doc = stop_doc
    return out


def maxsim(query: F32, documents: Sequence[F32]) -> F32:
    """MaxSim of one query against each document.

    query: (q, dim) float32; documents: each (n_i, dim) float32 with n_i >= 1.
    Returns (len(documents),) float32.
    """
    if len(documents) == 0:
        return np.empty(0, dtype=np.float32)
    lengths = np.fromiter((len(d) for d in documents), dtype=np.int64, count=len(documents))
    tokens = np.concatenate([np.asarray(d, dtype=np.float32) for d in documents])
    return maxsim_packed(np.asarray(query, dtype=np.float32), tokens, lengths)


def exhaustive_search(
    query: F32, documents: Sequence[F32], k: int
) -> tuple[npt.NDArray[np.int64], F32]:
    """The exact top k: (positions into ``documents``, scores), best first; ties by lower position.

    query: (q, dim) float32; documents: each (n_i, dim) float32. Returns two (min(k, n),) arrays.
    """
    scores = maxsim(query, documents)
    order = np.lexsort((np.arange(len(scores)), -scores))[:k]
    return order.astype(np.int64), scores[order]

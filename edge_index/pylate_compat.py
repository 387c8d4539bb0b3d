"""PyLate-shaped adapter: seed code written for PyLate runs on the edge index with an import change.

::

    # from pylate import indexes, retrieve, rank
    from colbert_edge.edge_index.pylate_compat import indexes, retrieve, rank

    index = indexes.PLAID(index_folder="pylate-index", index_name="index", override=True,
                          fingerprint="my-bundle", dim=128)
    index.add_documents(documents_ids=["1", "2"], documents_embeddings=[d1, d2])
    retriever = retrieve.ColBERT(index=index)
    retriever.retrieve(queries_embeddings=[q1, q2], k=10)   # [[{"id": "1", "score": 12.3}, ...], ...]
    rank.rerank(documents_ids=[["1", "2"]], queries_embeddings=[q1], documents_embeddings=[[d1, d2]])

``indexes.PLAID`` and ``indexes.Voyager`` are both :class:`EdgeIndex` (one SQLite file at
``<index_folder>/<index_name>.sqlite``); PyLate's tuning arguments are accepted and ignored.
Differences from PyLate: ids are strings (others are converted with ``str``); creating an index needs
``fingerprint`` and ``dim`` (``dim`` defaults to the first documents' width, ``fingerprint`` to
"pylate"); :func:`rerank` takes the max over each document's real tokens only, whereas
``pylate.rank.rerank`` zero-pads documents in a batch, so for a document whose every token has a
negative dot product with some query token PyLate's max is 0 and ours is that (negative) value.
Scores are otherwise equal (float32 MaxSim, no length division); ties keep input order.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt

from .checks import check_vectors
from .index import Index
from .maxsim import maxsim

__all__ = ["EdgeIndex", "ColBERT", "rerank", "indexes", "retrieve", "rank"]

F32 = npt.NDArray[np.float32]


def _arrays(embeddings: Any) -> list[Any]:
    """A (n, t, dim) array, a 2-D single array, or a list of arrays -> list of per-item arrays."""
    if hasattr(embeddings, "ndim") and embeddings.ndim == 2:
        return [embeddings]
    return list(embeddings)


class EdgeIndex:
    """An :class:`Index` behind PyLate's index methods (``add_documents``, ``remove_documents``, call)."""

    def __init__(
        self,
        index_folder: str = "indexes",
        index_name: str = "colbert",
        override: bool = False,
        *,
        fingerprint: str = "pylate",
        dim: int | None = None,
        **pylate_options: Any,
    ) -> None:
        os.makedirs(index_folder, exist_ok=True)
        self.path = os.path.join(index_folder, f"{index_name}.sqlite")
        if override:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.remove(self.path + suffix)
        self._fingerprint, self._dim = fingerprint, dim
        self._index: Index | None = None
        if os.path.exists(self.path):
            self._index = Index.open(self.path)

    def _open(self, dim: int) -> Index:
        if self._index is None:
            self._index = Index.open(self.path, fingerprint=self._fingerprint, dim=self._dim or dim)
        return self._index

    def add_documents(
        self, documents_ids: str | Sequence[Any], documents_embeddings: Sequence[F32], **kwargs: Any
    ) -> EdgeIndex:
        """Upsert documents; ids are converted to str."""
        ids = [documents_ids] if isinstance(documents_ids, str) else list(documents_ids)
        docs = _arrays(documents_embeddings)
        if docs:
            first = check_vectors(docs[0], np.asarray(docs[0]).shape[-1], "document")
            self._open(first.shape[1]).add([str(i) for i in ids], docs)
        return self

    def remove_documents(self, documents_ids: Sequence[Any]) -> EdgeIndex:
        """Delete documents by id."""
        if self._index is not None:
            self._index.delete([str(i) for i in documents_ids])
        return self

    def __call__(self, queries_embeddings: Any, k: int = 10, **kwargs: Any) -> list[list[dict[str, Any]]]:
        """One ``[{"id", "score"}, ...]`` list per query, best first."""
        queries = _arrays(queries_embeddings)
        if self._index is None:
            return [[] for _ in queries]
        results = self._index.search(queries, k=k)
        return [[{"id": h.id, "score": h.score} for h in hits] for hits in results]

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None


class ColBERT:
    """PyLate's ``retrieve.ColBERT``: ``retrieve(queries_embeddings, k)`` over an :class:`EdgeIndex`."""

    def __init__(self, index: EdgeIndex) -> None:
        self.index = index

    def retrieve(self, queries_embeddings: Any, k: int = 10, **kwargs: Any) -> list[list[dict[str, Any]]]:
        return self.index(queries_embeddings, k=k)


def rerank(
    documents_ids: Sequence[Sequence[Any]],
    queries_embeddings: Any,
    documents_embeddings: Sequence[Sequence[F32]],
    device: str | None = None,
) -> list[list[dict[str, Any]]]:
    """Order each query's documents by exact MaxSim: ``[[{"id", "score"}, ...], ...]``, best first.

    documents_ids[i] and documents_embeddings[i] (each (n_j, dim)) belong to query i ((q, dim)).
    """
    results = []
    for query, ids, docs in zip(_arrays(queries_embeddings), documents_ids, documents_embeddings):
        q = check_vectors(query, np.asarray(query).shape[-1], "query")
        arrays = [check_vectors(d, q.shape[1], "document") for d in docs]
        scores = maxsim(q, arrays)
        order = np.argsort(-scores, kind="stable")
        results.append([{"id": ids[i], "score": float(scores[i])} for i in order])
    return results


indexes = SimpleNamespace(PLAID=EdgeIndex, Voyager=EdgeIndex, EdgeIndex=EdgeIndex)
retrieve = SimpleNamespace(ColBERT=ColBERT)
rank = SimpleNamespace(rerank=rerank)

"""colbert_edge.edge_index: ColBERT token vectors in one SQLite file, searched with exact MaxSim.

sqlite3 + faiss-cpu + numpy only (never torch). See :class:`Index` for the lifecycle, ``schema.py``
for the file layout, ``codecs.py`` for the BLOB layouts, ``filters.py`` for ``where``.
"""

from .index import Index
from .maxsim import maxsim
from .records import Hit, IndexInfo

__all__ = ["Index", "Hit", "IndexInfo", "maxsim"]

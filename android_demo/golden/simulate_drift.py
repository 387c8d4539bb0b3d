"""Check that the golden test catches drift: write golden files with a changed residual4 layout.

``python android_demo/golden/simulate_drift.py OUT_DIR BUNDLES_DIR`` runs make_golden.py with the
residual4 nibble order swapped in both encoding and decoding (wrapping the real encoder and decode
table, so everything else, the per-token scale included, is what the package does). Python stays
self-consistent (its own searches look fine); the Java reader follows the documented layout, so
``.ci/android.sh OUT_DIR`` must report failures (decoded vectors, rankings and scores of the
residual4 index). Not part of CI: a manual check of the checker.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np

from colbert_edge.edge_index import codecs

_encode = codecs.ResidualQuantizer.encode
_lookup_pairs = codecs.ResidualQuantizer.lookup_pairs


def _swapped_encode(self: codecs.ResidualQuantizer, vectors: np.ndarray, codes: np.ndarray) -> bytes:
    """The real encoder's BLOB with the nibbles of each packed byte swapped (dimension 2b high)."""
    blob = _encode(self, vectors, codes)
    head = 4 * len(codes)  # uint16 codes and float16 scales, unchanged
    packed = np.frombuffer(blob, dtype=np.uint8, offset=head)  # (n * dim / 2,)
    return blob[:head] + ((packed << 4) | (packed >> 4)).astype(np.uint8).tobytes()


def _swapped_lookup_pairs(self: codecs.ResidualQuantizer) -> np.ndarray:
    """(256, 2): byte value -> (weight of its high nibble, weight of its low nibble)."""
    return np.ascontiguousarray(_lookup_pairs(self)[:, ::-1])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: simulate_drift.py OUT_DIR BUNDLES_DIR")
    codecs.ResidualQuantizer.encode = _swapped_encode
    codecs.ResidualQuantizer.lookup_pairs = _swapped_lookup_pairs
    sys.argv = [sys.argv[0], sys.argv[1], sys.argv[2]]
    runpy.run_path(str(Path(__file__).with_name("make_golden.py")), run_name="__main__")

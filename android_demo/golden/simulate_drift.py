"""Check that the golden test catches drift: write golden files with a changed residual4 layout.

``python android_demo/golden/simulate_drift.py OUT_DIR BUNDLES_DIR`` runs make_golden.py with the
residual4 nibble order swapped in both encoding and decoding. Python stays self-consistent (its
own searches look fine); the Java reader follows the documented layout, so
``.ci/android.sh OUT_DIR`` must report failures (decoded vectors, rankings and scores of the
residual4 index). Not part of CI: a manual check of the checker.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np

from colbert_edge.edge_index import codecs


def _encode(self: codecs.ResidualQuantizer, vectors: np.ndarray, codes: np.ndarray) -> bytes:
    scaled, scales = codecs._scaled_residuals(vectors, self.centroids, codes)
    buckets = np.searchsorted(self.cutoffs, scaled).astype(np.uint8)  # (n, dim)
    packed = buckets[:, 1::2] | (buckets[:, 0::2] << 4)  # swapped: dimension 2b in the high nibble
    return b"".join((codes.astype("<u2").tobytes(), scales.astype("<f2").tobytes(), packed.tobytes()))


def _lookup_pairs(self: codecs.ResidualQuantizer) -> np.ndarray:
    byte = np.arange(256)
    return np.stack([self.weights[byte >> 4], self.weights[byte & 15]], axis=1)  # swapped


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: simulate_drift.py OUT_DIR BUNDLES_DIR")
    codecs.ResidualQuantizer.encode = _encode
    codecs.ResidualQuantizer.lookup_pairs = _lookup_pairs
    sys.argv = [sys.argv[0], sys.argv[1], sys.argv[2]]
    runpy.run_path(str(Path(__file__).with_name("make_golden.py")), run_name="__main__")

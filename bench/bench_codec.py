"""How much recall@10 a per-token codec can keep on real token vectors: prints a table; not a test.

    python bench/bench_codec.py BUNDLES_DIR        (BUNDLES_DIR from: python tests/bundles.py BUNDLES_DIR)

Vectors: the MiniLM ColBERT test bundle (``BUNDLES_DIR/minilm-fp32``) over the real passages of
tests/test_edge_index_real.py, 100 queries of 8 words taken from passages. Every row scores every
document exactly (no search, no candidate cut) on vectors that went through one transformation, and
compares the top 10 with exact MaxSim on the float32 originals:

- ``fp16``: the fp16 codec;
- ``residual4``: the default codec as the index stores it (centroids trained like the index's first
  training on the first 1,000 documents, then every document encoded against them);
- ``noise a``: every token plus Gaussian noise, renormalised, so that its mean distance to the
  original is ``a`` (a reference scale for the codec's own error, the "mean distance" column, |decoded - original|);
- ``residual4 rate-distortion bound``: the smallest mean error any code of 72 bytes per token can
  reach on these residuals if they were Gaussian (the distortion-rate function D(R) = 2^(-2R) per
  dimension, R = (72*8 - 16 code bits) / dim), shown for scale.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def _recall(found: list[np.ndarray], reference: list[np.ndarray]) -> float:
    return float(np.mean([len(set(f.tolist()) & set(r.tolist())) / 10 for f, r in zip(found, reference)]))


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    from test_edge_index_real import real_passages

    from colbert_edge.edge_index.centroids import CentroidSet, choose_n_centroids, train_centroids
    from colbert_edge.edge_index.codecs import RESIDUAL4, ResidualQuantizer, decode_blobs
    from colbert_edge.edge_index.maxsim import maxsim_packed
    from colbert_edge.runtime import Encoder

    passages = real_passages()
    rng = np.random.default_rng(0)
    queries_text = []
    for i in rng.choice(len(passages), size=100, replace=False):
        words = passages[i].split()
        start = int(rng.integers(0, max(1, len(words) - 8)))
        queries_text.append(" ".join(words[start : start + 8]))
    t0 = time.perf_counter()
    with Encoder.load(Path(sys.argv[1]) / "minilm-fp32") as encoder:
        docs = encoder.encode_documents(passages)
        queries = encoder.encode_queries(queries_text)
    lengths = np.array([len(d) for d in docs])
    tokens = np.concatenate(docs)
    print(f"{len(docs)} passages, {len(tokens)} tokens, {len(queries)} queries "
          f"(encoded in {time.perf_counter() - t0:.0f} s)\n")

    def top10(vectors: np.ndarray) -> list[np.ndarray]:
        return [np.argsort(-maxsim_packed(q, vectors, lengths), kind="stable")[:10] for q in queries]

    reference = top10(tokens)
    train = tokens[: int(lengths[:1000].sum())]
    centroids = CentroidSet(train_centroids(train, choose_n_centroids(len(train), 4096), seed=0))
    codes = centroids.assign(tokens)
    quantizer = ResidualQuantizer.fit_buckets(centroids.vectors, train, codes[: len(train)])
    residual4 = decode_blobs([quantizer.encode(tokens, codes)], [len(tokens)], [RESIDUAL4], tokens.shape[1], quantizer)
    fp16 = tokens.astype(np.float16).astype(np.float32)
    rows = [("fp16", fp16), ("residual4", residual4)]
    for target in (0.01, 0.02, 0.035, 0.07):
        noise = rng.standard_normal(tokens.shape).astype(np.float32) * (target / np.sqrt(tokens.shape[1]))
        noisy = tokens + noise
        rows.append((f"noise {target}", noisy / np.linalg.norm(noisy, axis=1, keepdims=True)))
    print("| vectors | mean distance | recall@10 |")
    print("|---|---:|---:|")
    for name, vectors in rows:
        error = float(np.linalg.norm(vectors - tokens, axis=1).mean())
        print(f"| {name} | {error:.4f} | {_recall(top10(vectors), reference):.3f} |", flush=True)
    residual_norm = float(np.linalg.norm(tokens - centroids.vectors[codes], axis=1).mean())
    rate = (72 * 8 - 16) / tokens.shape[1]
    bound = residual_norm * 2.0 ** -rate
    print(f"| residual4 rate-distortion bound (K={len(centroids)}, mean residual norm {residual_norm:.3f}, "
          f"{rate:.2f} bits/dim) | {bound:.4f} | - |")


if __name__ == "__main__":
    main()

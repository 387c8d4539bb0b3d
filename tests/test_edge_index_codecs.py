"""The residual4 codec on its own: both decode tables agree, the encoder's scale, round-trip quality."""

from __future__ import annotations

import numpy as np
import pytest
from index_data import make_corpus

from colbert_edge.edge_index.centroids import CentroidSet, train_centroids
from colbert_edge.edge_index.codecs import RESIDUAL4, ResidualQuantizer, decode_blobs


def _quantizer(tokens: np.ndarray, k: int) -> tuple[ResidualQuantizer, np.ndarray]:
    centroids = CentroidSet(train_centroids(tokens, k, seed=0))
    codes = centroids.assign(tokens)
    return ResidualQuantizer.fit_buckets(centroids.vectors, tokens, codes), codes


@pytest.fixture(scope="module")
def docs() -> list[np.ndarray]:
    return make_corpus(60, n_queries=1, seed=5).docs


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", a, b) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_quad_and_pair_tables_decode_the_same_floats(docs: list[np.ndarray]) -> None:
    tokens = np.concatenate(docs)
    quantizer, codes = _quantizer(tokens, 64)
    splits = np.cumsum([len(d) for d in docs])[:-1]
    blobs = [quantizer.encode(d, c) for d, c in zip(docs, np.split(codes, splits))]
    lengths = [len(d) for d in docs]
    quads = decode_blobs(blobs, lengths, [RESIDUAL4] * len(docs), 128, quantizer)  # (65536, 4) table
    assert quantizer.lookup_table(128).shape == (65536, 4)
    pairs = decode_blobs(blobs, lengths, [RESIDUAL4] * len(docs), 128, quantizer, quantizer.lookup_pairs())
    np.testing.assert_array_equal(quads, pairs)
    assert _cosines(quads, tokens).mean() > 0.99


def test_dimension_not_a_multiple_of_four_uses_pairs() -> None:
    rng = np.random.default_rng(3)
    tokens = rng.standard_normal((400, 6)).astype(np.float32)
    tokens /= np.linalg.norm(tokens, axis=1, keepdims=True)
    quantizer, codes = _quantizer(tokens, 16)
    assert quantizer.lookup_table(6).shape == (256, 2)
    decoded = decode_blobs([quantizer.encode(tokens, codes)], [len(tokens)], [RESIDUAL4], 6, quantizer)
    assert _cosines(decoded, tokens).mean() > 0.99


def test_encoder_scale_never_worse_than_the_residual_norm(docs: list[np.ndarray]) -> None:
    """The stored scale maximises the decoded cosine; |x - centroid| is the fallback it must beat."""
    tokens = np.concatenate(docs)
    quantizer, codes = _quantizer(tokens, 64)
    blob = quantizer.encode(tokens, codes)
    n = len(tokens)
    stored = np.frombuffer(blob[2 * n : 4 * n], dtype="<f2").astype(np.float32)
    plain_scale = np.linalg.norm(tokens - quantizer.centroids[codes], axis=1).astype(np.float16).astype(np.float32)
    decoded = decode_blobs([blob], [n], [RESIDUAL4], 128, quantizer)
    plain_blob = blob[: 2 * n] + plain_scale.astype("<f2").tobytes() + blob[4 * n :]
    plain = decode_blobs([plain_blob], [n], [RESIDUAL4], 128, quantizer)
    ours, theirs = _cosines(decoded, tokens), _cosines(plain, tokens)
    assert np.all(ours >= theirs - 1e-6)
    assert (ours > theirs + 1e-7).mean() > 0.5 and not np.array_equal(stored, plain_scale)  # it does choose

"""Encoder: a bundle -> per-token vectors, with onnxruntime, tokenizers and numpy only.

``Encoder.load(bundle)`` reads and hash-checks the manifest, builds the contract tokenizer and one
onnxruntime session. ``encode_queries`` / ``encode_documents`` return one float32 array per text,
in input order: queries ``(query_length, dim)`` (``(n_attended, dim)`` without query expansion),
documents ``(n_kept_tokens, dim)``; rows are L2-normalised (the graph normalises).

Batching sorts texts by token count so padding stays small, pads on the right, and caps both the
texts and the tokens (padded batch * seq) per batch, so peak memory is bounded by ``max_tokens``
whatever the input. The model is causal (LFM2) or masks padding (BERT), and queries are always
padded to the same length, so a text's vectors do not depend on what else is in its batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from colbert_edge.errors import BundleError
from colbert_edge.runtime.manifest import MODEL_FILE, TOKENIZER_FILE, Manifest, read_manifest
from colbert_edge.runtime.tokenization import ContractTokenizer, TokenBatch

__all__ = ["Encoder", "Progress"]

FloatArray = npt.NDArray[np.float32]
Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each batch, with counts of texts."""


class Encoder:
    """Turns text into ColBERT token vectors from a bundle written by ``colbert-edge export``."""

    def __init__(self, manifest: Manifest, tokenizer: ContractTokenizer, session: object, path: Path) -> None:
        self.manifest = manifest
        self.tokenizer = tokenizer
        self.path = path
        self._session = session

    @classmethod
    def load(cls, bundle: str | Path, threads: int | None = None) -> "Encoder":
        """Open ``bundle`` (a folder). ``threads`` caps onnxruntime's intra-op threads (default: all cores)."""
        import onnxruntime as ort

        folder = Path(bundle)
        manifest = read_manifest(folder)
        tokenizer = ContractTokenizer.from_file(folder / TOKENIZER_FILE, manifest.contract)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types with no common base
            raise BundleError(f"{folder / MODEL_FILE} cannot be loaded by onnxruntime ({exc}); re-export the bundle") from exc
        declared = tuple(i.name for i in session.get_inputs())
        if set(declared) != set(manifest.onnx_inputs):
            raise BundleError(
                f"{folder / MODEL_FILE} declares inputs {declared}, the manifest says {manifest.onnx_inputs}; re-export the bundle"
            )
        return cls(manifest, tokenizer, session, folder)

    @property
    def dim(self) -> int:
        return self.manifest.dim

    @property
    def fingerprint(self) -> str:
        return self.manifest.fingerprint

    def close(self) -> None:
        self._session = None

    def __enter__(self) -> "Encoder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, batch: TokenBatch) -> FloatArray:
        """Run the graph on one batch -> (batch, seq, dim) float32 (every position, kept or not)."""
        if self._session is None:
            raise BundleError(f"encoder for {self.path} is closed; load it again")
        (out,) = self._session.run([self.manifest.onnx_output], batch.feeds(self.manifest.onnx_inputs))  # (batch, seq, dim)
        return out

    def encode_queries(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        max_tokens: int = 8192,
        progress: Progress | None = None,
    ) -> list[FloatArray]:
        """One ``(query_length, dim)`` float32 array per query (see the module docstring)."""
        return self._encode(texts, True, batch_size, max_tokens, progress)

    def encode_documents(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        max_tokens: int = 8192,
        progress: Progress | None = None,
    ) -> list[FloatArray]:
        """One ``(n_kept_tokens, dim)`` float32 array per document, in input order."""
        return self._encode(texts, False, batch_size, max_tokens, progress)

    def _encode(
        self,
        texts: Sequence[str],
        is_query: bool,
        batch_size: int,
        max_tokens: int,
        progress: Progress | None,
    ) -> list[FloatArray]:
        if isinstance(texts, str):
            texts = [texts]
        ids = self.tokenizer.token_ids(list(texts), is_query=is_query)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        results: list[FloatArray | None] = [None] * len(ids)
        contract = self.manifest.contract
        fixed = contract.query_length if is_query and contract.do_query_expansion else None
        widths = [fixed or len(ids[i]) + 1 for i in order]  # padded positions each text needs
        done = 0
        for chunk in _chunks(order, widths, batch_size, max_tokens):
            batch = self.tokenizer.batch([ids[i] for i in chunk], is_query=is_query)
            out = self.run(batch)  # (batch, seq, dim)
            for row, index in enumerate(chunk):
                results[index] = np.ascontiguousarray(out[row][batch.keep[row]], dtype=np.float32)
            done += len(chunk)
            if progress is not None:
                progress(done, len(ids))
        return results  # type: ignore[return-value]


def _chunks(order: list[int], lengths: list[int], batch_size: int, max_tokens: int) -> list[list[int]]:
    """Split ``order`` (sorted by length ascending) so that len(chunk) * longest <= max_tokens."""
    chunks: list[list[int]] = []
    current: list[int] = []
    for index, length in zip(order, lengths):
        if current and (len(current) + 1 > batch_size or (len(current) + 1) * length > max_tokens):
            chunks.append(current)
            current = []
        current.append(index)
    if current:
        chunks.append(current)
    return chunks

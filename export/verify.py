"""Parity of an exported graph against the PyTorch reference, on padded batches of real text.

Every export runs :func:`measure`: the same :class:`TokenBatch` (built by the runtime's contract
tokenizer) goes through the PyTorch :class:`ColbertGraph` and through onnxruntime, for queries and
documents of mixed lengths (short, long, beyond document_length, several scripts), and the figures
compare the *kept* token vectors, i.e. what the runtime returns:

- ``max_abs_diff``: largest absolute difference of any coordinate (fp32 gate: <= 1e-4);
- ``mean_cosine`` / ``min_cosine``: per-token cosine (int8 gate: mean >= 0.98);
- ``top10_agreement``: for each query, |top-10 documents by MaxSim with the reference vectors ∩
  top-10 with the exported vectors| / 10, averaged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import torch

from colbert_edge.runtime.tokenization import ContractTokenizer, TokenBatch

__all__ = ["VERIFY_TEXTS", "Parity", "measure", "reference_vectors", "maxsim_matrix"]

VERIFY_TEXTS = [
    "The quarterly report is due on Friday; send the draft to Maria before noon.",
    "Mañana compramos pan, leche y huevos en el mercado del barrio.",
    "Die Besprechung mit dem Vermieter wurde auf Dienstag verschoben.",
    "Le rendez-vous chez le dentiste est confirmé pour jeudi à 15 h.",
    "会议改到下周三上午十点，请带上预算表。",
    "来週の金曜日までに請求書を送ってください。",
    "다음 주 월요일에 프로젝트 회의가 있습니다.",
    "تم تأجيل الاجتماع إلى يوم الأحد القادم.",
    "Password for the wifi at the cabin: ask Tom, it changed in May.",
    "Recipe: two cups of flour, one egg, a pinch of salt, knead for ten minutes.",
    "Flight LH 454 from Frankfurt lands at 14:35, terminal 1.",
    "Remember to renew the passport before the trip to Japan in October!",
]


@dataclass(frozen=True)
class Parity:
    """Figures of one comparison (exported vs reference), written into the manifest."""

    max_abs_diff: float
    mean_cosine: float
    min_cosine: float
    top10_agreement: float
    n_queries: int
    n_documents: int
    n_tokens: int

    def to_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 7) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def verification_sets() -> tuple[list[str], list[str]]:
    """(queries, documents): short and full queries; single, paired and over-long documents."""
    queries = [" ".join(t.split()[:4]) for t in VERIFY_TEXTS] + VERIFY_TEXTS[:6] + ["wifi", ""]
    documents = VERIFY_TEXTS + [a + " " + b for a, b in combinations(VERIFY_TEXTS, 2)] + [" ".join(VERIFY_TEXTS * 8)]
    return queries, documents


def _batches(tokenizer: ContractTokenizer, texts: list[str], is_query: bool, size: int) -> list[TokenBatch]:
    """Unsorted fixed-size batches: each mixes lengths, so padding is exercised."""
    return [tokenizer.encode(texts[i : i + size], is_query=is_query) for i in range(0, len(texts), size)]


def reference_vectors(graph: torch.nn.Module, batch: TokenBatch) -> np.ndarray:
    """Run the PyTorch reference on a batch -> (batch, seq, dim) float32."""
    feeds = [torch.from_numpy(batch.input_ids), torch.from_numpy(batch.attention_mask)]
    if getattr(graph, "takes_token_types", False):
        feeds.append(torch.zeros_like(feeds[0]))
    with torch.no_grad():
        return graph(*feeds).numpy()


def maxsim_matrix(queries: list[np.ndarray], documents: list[np.ndarray]) -> np.ndarray:
    """(n_queries, n_documents) float64 of sum over query tokens of max over document tokens."""
    return np.array([[float((q @ d.T).max(axis=1).sum()) if len(d) else 0.0 for d in documents] for q in queries])


def _kept(batches: list[TokenBatch], outputs: list[np.ndarray]) -> list[np.ndarray]:
    return [out[row][b.keep[row]] for b, out in zip(batches, outputs) for row in range(len(b.keep))]


def measure(graph: torch.nn.Module, onnx_path: Path, tokenizer: ContractTokenizer, input_names: tuple[str, ...],
            *, batch_size: int = 8, threads: int | None = None) -> Parity:
    """Compare the ONNX graph at ``onnx_path`` with ``graph`` on :func:`verification_sets`."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    queries, documents = verification_sets()
    per_kind = {}
    for is_query, texts in ((True, queries), (False, documents)):
        batches = _batches(tokenizer, texts, is_query, batch_size)
        ref = _kept(batches, [reference_vectors(graph, b) for b in batches])
        got = _kept(batches, [session.run(None, b.feeds(input_names))[0] for b in batches])
        per_kind[is_query] = (ref, got)
    ref_all = np.concatenate(per_kind[True][0] + per_kind[False][0])  # (n_tokens, dim)
    got_all = np.concatenate(per_kind[True][1] + per_kind[False][1])
    cos = np.sum(ref_all * got_all, axis=1) / (
        np.linalg.norm(ref_all, axis=1) * np.linalg.norm(got_all, axis=1) + 1e-12)
    ref_scores = maxsim_matrix(per_kind[True][0], per_kind[False][0])
    got_scores = maxsim_matrix(per_kind[True][1], per_kind[False][1])
    k = min(10, ref_scores.shape[1])
    top_ref = np.argsort(-ref_scores, axis=1, kind="stable")[:, :k]
    top_got = np.argsort(-got_scores, axis=1, kind="stable")[:, :k]
    agreement = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(top_ref, top_got)]))
    return Parity(
        max_abs_diff=float(np.abs(ref_all - got_all).max()),
        mean_cosine=float(cos.mean()),
        min_cosine=float(cos.min()),
        top10_agreement=agreement,
        n_queries=len(queries),
        n_documents=len(documents),
        n_tokens=int(ref_all.shape[0]),
    )

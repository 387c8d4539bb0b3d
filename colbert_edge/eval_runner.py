"""``colbert-edge eval``: the engine against exhaustive MaxSim on a BEIR-layout folder.

The corpus (title + text per document) is encoded once and indexed in a temporary index; each
query runs through the index's search (centroid prefilter + exact MaxSim) and through exhaustive
MaxSim over every document. Both rankings are scored with :mod:`colbert_edge.evaluation`; the
difference is what the prefilter costs. A corpus smaller than the index's default ``train_at``
would be searched exhaustively by the engine too, so the evaluation index trains its centroids at
a quarter of the corpus (at least 50 documents) to measure the prefilter.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from colbert_edge.edge_index import Index
from colbert_edge.edge_index.maxsim import exhaustive_search
from colbert_edge.evaluation import evaluate, load_beir
from colbert_edge.runtime import Encoder

__all__ = ["run_eval"]


def run_eval(bundle: str | Path, dataset: str | Path, *, k: int = 100, threads: int | None = None,
             plot: str | None = None) -> dict[str, Any]:
    """Metrics of the engine and of exhaustive MaxSim, side by side (a JSON-able dict)."""
    data = load_beir(dataset)
    doc_ids = sorted(data.corpus)
    texts = [f"{data.corpus[i].title}\n{data.corpus[i].text}".strip() for i in doc_ids]
    query_ids = sorted(q for q in data.queries if q in data.qrels)
    with Encoder.load(bundle, threads=threads) as encoder:
        documents = encoder.encode_documents(texts)
        queries = encoder.encode_queries([data.queries[q].text for q in query_ids])
        fingerprint, dim = encoder.fingerprint, encoder.dim
    with tempfile.TemporaryDirectory(prefix="colbert-edge-eval-") as tmp:
        train_at = max(50, len(doc_ids) // 4)
        with Index.open(Path(tmp) / "eval.db", fingerprint=fingerprint, dim=dim, train_at=train_at) as index:
            index.add(doc_ids, documents)
            engine_hits = index.search(queries, k=min(k, len(doc_ids)))
            n_centroids = index.info().n_centroids
    engine_run = {q: [h.id for h in hits] for q, hits in zip(query_ids, engine_hits)}
    exhaustive_run = {q: [doc_ids[i] for i in exhaustive_search(v, documents, k)[0]] for q, v in zip(query_ids, queries)}
    report = {
        "dataset": str(dataset), "bundle": str(bundle), "n_documents": len(doc_ids), "n_queries": len(query_ids),
        "n_centroids": n_centroids,
        "engine": evaluate(engine_run, data.qrels).__dict__,
        "exhaustive": evaluate(exhaustive_run, data.qrels).__dict__,
    }
    if plot:
        _plot(report, plot)
    return report


def _plot(report: dict[str, Any], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        from colbert_edge.errors import InvalidArgument

        raise InvalidArgument("--plot needs matplotlib: pip install matplotlib") from exc
    names = ["ndcg10", "mrr10", "recall100"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for offset, run in ((-0.2, "engine"), (0.2, "exhaustive")):
        ax.bar([i + offset for i in range(len(names))], [report[run][n] for n in names], width=0.4, label=run)
    ax.set_xticks(range(len(names)), ["NDCG@10", "MRR@10", "Recall@100"])
    ax.set_ylim(0, 1)
    ax.set_title(f"{Path(report['dataset']).name}: {report['n_queries']} queries, {report['n_documents']} documents")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

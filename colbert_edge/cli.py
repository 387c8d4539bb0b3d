"""The ``colbert-edge`` command: a thin skin over the library.

Each command parses its arguments, calls one library function, prints. Library errors
(:class:`ColbertEdgeError`) become one line on stderr and exit status 2; ``--debug`` re-raises with
the traceback. Heavy imports happen inside the command that needs them, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from colbert_edge.errors import ColbertEdgeError, InvalidArgument

__all__ = ["main"]


def _cmd_export(args: argparse.Namespace) -> int:
    from colbert_edge.export import export_model

    log = (lambda msg: print(msg, file=sys.stderr)) if not args.quiet else None
    report = export_model(args.source, args.out, precision=args.precision, revision=args.revision, log=log)
    summary = {
        "bundle": str(report.bundle),
        "precision": report.manifest.precision,
        "dim": report.manifest.dim,
        "fingerprint": report.manifest.fingerprint,
        "model_bytes": report.model_bytes,
        "seconds": round(report.seconds, 1),
        "parity": report.manifest.parity,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {report.bundle} ({report.manifest.precision}, dim {report.manifest.dim}, "
              f"{report.model_bytes / 1e6:.1f} MB) in {report.seconds:.1f} s")
        print(f"fp32 vs PyTorch: max abs diff {report.fp32.max_abs_diff:.2e}")
        if report.int8 is not None:
            print(f"int8 vs PyTorch fp32: mean cosine {report.int8.mean_cosine:.4f}, worst {report.int8.min_cosine:.4f}, "
                  f"top-10 agreement {report.int8.top10_agreement:.3f}")
    return 0


def _progress_bar(label: str) -> "Callable[[int, int, int], None]":
    started = time.perf_counter()

    def show(done: int, total: int, passages: int) -> None:
        elapsed = max(time.perf_counter() - started, 1e-9)
        rate = passages / elapsed
        eta = (total - done) * elapsed / done if done else 0.0
        width = 24
        filled = int(width * done / total) if total else width
        print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} files, {passages} passages, "
              f"{rate:.1f} passages/s, ETA {eta:.0f}s ", end="", file=sys.stderr, flush=True)
        if done == total:
            print(file=sys.stderr)

    return show


def _parse_where(items: list[str] | None) -> dict[str, Any] | None:
    """``--where`` items: ``field=value``, ``field!=value``, ``field>=v``, ``field<=v``, ``field>v``,
    ``field<v``, ``field=a,b`` (one of). Several items combine with AND."""
    if not items:
        return None
    where: dict[str, Any] = {}
    for item in items:
        for op, name in ((">=", "$gte"), ("<=", "$lte"), ("!=", "$ne"), (">", "$gt"), ("<", "$lt"), ("=", None)):
            if op in item:
                field, value = item.split(op, 1)
                field = field.strip()
                if name is None:
                    where[field] = value.split(",") if "," in value else value
                else:
                    where.setdefault(field, {})
                    if not isinstance(where[field], dict):
                        raise InvalidArgument(f"--where {item!r}: {field!r} already has an equality condition")
                    where[field][name] = value
                break
        else:
            raise InvalidArgument(f"--where {item!r} is not FIELD=VALUE, FIELD>=VALUE, FIELD<VALUE, ...")
    return where


def _print_results(results: list[Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
        return
    if not results:
        print("no results")
    for rank, r in enumerate(results, 1):
        print(f"{rank:2d}. {r.score:7.2f}  {r.title}  ({r.kind}: {r.path})")
        print(f"     {r.snippet.render()}")


def _cmd_index(args: argparse.Namespace) -> int:
    from colbert_edge.engine import Engine

    skipped = []

    def on_skip(item: Any) -> None:
        skipped.append(item)
        print(f"colbert-edge: skipped {item.path}: {item.reason}", file=sys.stderr)

    with Engine.open(args.db, bundle=args.model, threads=args.threads) as engine:
        report = engine.index_paths(args.paths, progress=None if args.quiet else _progress_bar("indexing"),
                                    on_skip=on_skip)
    summary = {k: v for k, v in report.__dict__.items() if k != "skipped"} | {"skipped": len(report.skipped)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{report.sources} sources: {report.encoded} encoded ({report.passages} passages), "
              f"{report.unchanged} unchanged, {report.removed} removed, {len(report.skipped)} skipped "
              f"in {report.seconds:.1f} s")
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from colbert_edge.engine import Engine

    with Engine.open(args.db, bundle=args.model, threads=args.threads) as engine:
        results = engine.search(args.query, k=args.k, where=_parse_where(args.where))
    _print_results(results, args.json)
    return 0


def _cmd_rerank(args: argparse.Namespace) -> int:
    from colbert_edge.edge_index import maxsim
    from colbert_edge.runtime import Encoder

    with Encoder.load(args.bundle, threads=args.threads) as encoder:
        query = encoder.encode_queries([args.query])[0]
        scores = maxsim(query, encoder.encode_documents(args.documents))
    ranked = sorted(zip(args.documents, scores.tolist()), key=lambda pair: -pair[1])
    if args.json:
        print(json.dumps([{"document": d, "score": round(s, 4)} for d, s in ranked], indent=2, ensure_ascii=False))
    else:
        for rank, (doc, score) in enumerate(ranked, 1):
            print(f"{rank:2d}. {score:7.2f}  {doc}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from colbert_edge.edge_index import Index

    with Index.open(args.db) as index:
        info = index.info().__dict__
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            print(f"{key:22s} {value}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from colbert_edge.eval_runner import run_eval

    report = run_eval(args.bundle, args.dataset, k=args.k, threads=args.threads, plot=args.plot)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['n_queries']} queries, {report['n_documents']} documents")
        print(f"{'':12s} {'NDCG@10':>8s} {'MRR@10':>8s} {'R@100':>8s}")
        for name in ("engine", "exhaustive"):
            m = report[name]
            print(f"{name:12s} {m['ndcg10']:8.4f} {m['mrr10']:8.4f} {m['recall100']:8.4f}")
        print(f"engine loss vs exhaustive: NDCG@10 {report['engine']['ndcg10'] - report['exhaustive']['ndcg10']:+.4f}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from colbert_edge.serve import serve

    serve(args.db, bundle=args.model, host=args.host, port=args.port, threads=args.threads)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from colbert_edge.demo import run_demo

    for line in run_demo(args.model, args.workdir, samples=args.samples, queries=args.query or None,
                         precision=args.precision):
        print(line)
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: all cores)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colbert-edge", description="On-device multilingual ColBERT search.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of errors")
    commands = parser.add_subparsers(dest="command", required=True)

    export = commands.add_parser("export", help="export a PyLate ColBERT model to a verified ONNX bundle")
    export.add_argument("source", help="model folder (PyLate layout) or hub id")
    export.add_argument("--out", required=True, help="bundle folder to write")
    export.add_argument("--precision", choices=("fp32", "int8"), default="fp32")
    export.add_argument("--revision", default=None, help="hub revision (with a hub id)")
    export.add_argument("--json", action="store_true", help="print the report as JSON")
    export.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    export.set_defaults(run=_cmd_export)

    index = commands.add_parser("index", help="index notes folders and mailboxes (incremental)")
    index.add_argument("db", help="index file (created if missing)")
    index.add_argument("paths", nargs="+", help="notes folders, note files, .eml, mbox files, Maildir folders")
    index.add_argument("--model", help="bundle folder (required the first time; remembered in the index)")
    _common(index)
    index.add_argument("--quiet", action="store_true", help="no progress bar")
    index.set_defaults(run=_cmd_index)

    search = commands.add_parser("search", help="search an index")
    search.add_argument("db")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=10, help="results (notes or messages) to return")
    search.add_argument("--where", action="append", metavar="FIELD=VALUE",
                        help="metadata filter, repeatable: kind=mail, sender=ana@example.org, date>=2024-01-01, folder=a,b")
    search.add_argument("--model", help="bundle folder (default: the one the index records)")
    _common(search)
    search.set_defaults(run=_cmd_search)

    rerank = commands.add_parser("rerank", help="score documents against a query with exact MaxSim")
    rerank.add_argument("bundle")
    rerank.add_argument("query")
    rerank.add_argument("documents", nargs="+", metavar="DOC")
    _common(rerank)
    rerank.set_defaults(run=_cmd_rerank)

    info = commands.add_parser("info", help="describe an index file")
    info.add_argument("db")
    info.add_argument("--json", action="store_true")
    info.set_defaults(run=_cmd_info)

    evaluate = commands.add_parser("eval", help="NDCG@10, MRR@10, Recall@100 on a BEIR-layout folder")
    evaluate.add_argument("bundle")
    evaluate.add_argument("dataset", help="folder with corpus.jsonl, queries.jsonl, qrels/test.tsv")
    evaluate.add_argument("-k", type=int, default=100, help="depth of each ranking")
    evaluate.add_argument("--plot", metavar="FILE.png", help="also draw the metrics (needs matplotlib)")
    _common(evaluate)
    evaluate.set_defaults(run=_cmd_eval)

    serve = commands.add_parser("serve", help="local JSON HTTP API (search, add, delete, info)")
    serve.add_argument("db")
    serve.add_argument("--model", help="bundle folder (default: the one the index records)")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--threads", type=int, default=None)
    serve.set_defaults(run=_cmd_serve)

    demo = commands.add_parser("demo", help="export, index the shipped samples, search: the main job")
    demo.add_argument("--model", default="LiquidAI/LFM2-ColBERT-350M", help="hub id or local model folder")
    demo.add_argument("--workdir", default="colbert-edge-demo", help="where the bundle and the index go")
    demo.add_argument("--samples", default=None, help="folder to index (default: the repository's samples/)")
    demo.add_argument("--precision", choices=("fp32", "int8"), default="int8")
    demo.add_argument("--query", action="append", help="queries to run (repeatable; default: a multilingual set)")
    demo.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except ColbertEdgeError as exc:
        if args.debug:
            raise
        print(f"colbert-edge: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("colbert-edge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

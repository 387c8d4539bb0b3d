"""Edge-index benchmark: prints a table; never part of the test run.

    python bench/bench_index.py --docs 10000 50000 --queries 100 \\
        [--systems edge,exhaustive,voyager,plaid] [--pylate-python PYLATE_ENV/bin/python]

For each collection size: seeded synthetic documents of 50-400 tokens (128-d, the generator of
tests/index_data.py) and 32-token queries, stored once as fp16 (so every system sees the same
vectors, given to it as float32). Each system runs in its own process (so its peak RSS is its own):

- ``exhaustive``: :func:`colbert_edge.edge_index.maxsim.maxsim_packed` over every token in memory;
  its top 10 is the reference for recall@10.
- ``edge``: :class:`colbert_edge.edge_index.Index` at default settings (residual4), built with adds
  of 1000 documents (centroids train on the first 1000; the note gives that add's time and the
  median of the later ones).
- ``voyager`` / ``plaid``: PyLate 1.6's Voyager (HNSW over tokens + rerank) and PLAID indexes, run
  with ``--pylate-python`` (a separate venv with torch 2.13.0 CPU); a system that cannot be imported
  or run is reported with its error instead of numbers.

Columns: p50/p95 search latency (query vectors given, one query at a time), recall@10 vs the
exhaustive top 10, bytes per token, file size, build time, time to add one document to the built
index, time from open to first result (warm page cache), peak RSS of the searching process (for
edge_index a fresh process that opens the built file and loads only the queries; the building
process's peak is in the note; the other systems hold the whole corpus as the bench gave it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def _corpus_path(work: Path, n_docs: int, n_queries: int) -> Path:
    return work / f"corpus-{n_docs}-{n_queries}.npz"


def generate(work: Path, n_docs: int, n_queries: int) -> Path:
    """Write tokens (T, 128) fp16, lengths (n,), queries (Q, 32, 128) fp32 once per size."""
    path = _corpus_path(work, n_docs, n_queries)
    if not path.exists():
        from index_data import make_corpus

        corpus = make_corpus(n_docs, n_queries=n_queries, min_len=50, max_len=400, seed=n_docs)
        lengths = np.array([len(d) for d in corpus.docs], dtype=np.int64)
        tokens = np.concatenate([d.astype(np.float16) for d in corpus.docs])
        del corpus.docs
        np.savez(path, tokens=tokens, lengths=lengths, queries=np.stack(corpus.queries))
    return path


def load(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = np.load(path)
    return data["tokens"], data["lengths"], data["queries"]


def documents(tokens: np.ndarray, lengths: np.ndarray, start: int, stop: int) -> list[np.ndarray]:
    """Documents start..stop-1 as float32 arrays."""
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return [tokens[offsets[i] : offsets[i + 1]].astype(np.float32) for i in range(start, stop)]


@contextlib.contextmanager
def _one_blas_thread():
    """One BLAS thread during searches (threadpoolctl, if installed; yields whether it applied).

    A search multiplies a few small matrices: a second BLAS thread buys little on an idle machine
    and costs 2x under CPU contention (measured here: p50 156 ms -> 67 ms at 2000 documents).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield False
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield True


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss would carry the parent's over fork+exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _latencies(search, queries: np.ndarray) -> tuple[list[list[str]], list[float]]:
    for q in queries[:3]:
        search(q)  # warm-up
    found, times = [], []
    for q in queries:
        t0 = time.perf_counter()
        found.append(search(q))
        times.append(time.perf_counter() - t0)
    return found, times


def run_exhaustive(path: Path) -> dict:
    from colbert_edge.edge_index.maxsim import maxsim_packed

    tokens, lengths, queries = load(path)
    t0 = time.perf_counter()
    all_tokens = tokens.astype(np.float32)
    build = time.perf_counter() - t0

    def search(q: np.ndarray) -> list[str]:
        scores = maxsim_packed(q, all_tokens, lengths)
        top = np.argpartition(-scores, 9)[:10]
        return [str(i) for i in top[np.argsort(-scores[top])]]

    found, times = _latencies(search, queries)
    return {"found": found, "times": times, "bytes_per_token": 512, "file_mb": all_tokens.nbytes / 2**20,
            "build_s": build, "add_one_ms": None, "open_first_ms": None}


def run_edge(path: Path, work: Path, variants: list[dict]) -> dict:
    from colbert_edge.edge_index import Index

    tokens, lengths, queries = load(path)
    db = work / f"edge-{len(lengths)}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    t0 = time.perf_counter()
    index = Index.open(db, fingerprint="bench", dim=tokens.shape[1])
    adds = []
    for start in range(0, len(lengths), 1000):
        stop = min(start + 1000, len(lengths))
        batch = documents(tokens, lengths, start, stop)
        t1 = time.perf_counter()
        index.add([str(i) for i in range(start, stop)], batch)
        adds.append(time.perf_counter() - t1)
    build = time.perf_counter() - t0
    extra = documents(tokens, lengths, 0, 5)
    t0 = time.perf_counter()
    for i, doc in enumerate(extra):
        index.add([f"extra-{i}"], [doc])
    add_one = (time.perf_counter() - t0) / len(extra)
    index.delete([f"extra-{i}" for i in range(len(extra))])
    info = index.info()
    index.close()
    return {"bytes_per_token": info.bytes_per_token, "file_mb": info.file_bytes / 2**20, "build_s": build,
            "add_one_ms": add_one * 1000, "n_centroids": info.n_centroids, "first_add_s": adds[0],
            "later_add_s": float(np.median(adds[1:])) if len(adds) > 1 else None,
            "optimize_recommended": info.optimize_recommended, "build_rss_mb": _peak_rss_mb()}


def run_edge_search(path: Path, work: Path, variants: list[dict]) -> dict:
    """Open the built index in a fresh process (only the queries loaded): open->first, latencies, RSS."""
    from colbert_edge.edge_index import Index

    with np.load(path) as data:
        queries, n_docs = data["queries"], len(data["lengths"])
    t0 = time.perf_counter()
    index = Index.open(work / f"edge-{n_docs}.db")
    index.search(queries[0], k=10)
    open_first = time.perf_counter() - t0
    rows = []
    with _one_blas_thread() as limited:
        for options in variants:  # search settings on the same built index
            found, times = _latencies(lambda q: [h.id for h in index.search(q, k=10, **options)], queries)
            rows.append({"found": found, "times": times,
                         "note": f"{options or 'defaults'}{', 1 BLAS thread per thread' if limited else ''}"})
    index.close()
    return {"variants": rows, "open_first_ms": open_first * 1000}


def run_pylate(path: Path, work: Path, kind: str, options: dict) -> dict:
    import torch  # noqa: F401  (the PyLate venv)
    from pylate import indexes, retrieve

    tokens, lengths, queries = load(path)
    queries = queries[: int(options.pop("n_queries", len(queries)))]
    folder = work / f"pylate-{kind}-{len(lengths)}"
    t0 = time.perf_counter()
    if kind == "voyager":
        index = indexes.Voyager(index_folder=str(folder), index_name="index", override=True, **options)
    else:
        index = indexes.PLAID(index_folder=str(folder), index_name="index", override=True, use_fast=False,
                              **options)
    for start in range(0, len(lengths), 1000):
        stop = min(start + 1000, len(lengths))
        index.add_documents(documents_ids=[str(i) for i in range(start, stop)],
                            documents_embeddings=documents(tokens, lengths, start, stop))
    build = time.perf_counter() - t0
    retriever = retrieve.ColBERT(index=index)

    def search(q: np.ndarray) -> list[str]:
        return [h["id"] for h in retriever.retrieve(queries_embeddings=[q], k=10)[0]]

    t0 = time.perf_counter()
    search(queries[0])
    open_first = time.perf_counter() - t0  # already open; first query
    found, times = _latencies(search, queries)
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return {"found": found, "times": times, "bytes_per_token": size / float(lengths.sum()),
            "file_mb": size / 2**20, "build_s": build, "add_one_ms": None, "open_first_ms": open_first * 1000,
            "note": str(options or "defaults")}


def child(args: argparse.Namespace) -> None:
    path, work, options = Path(args.data), Path(args.work), json.loads(args.options)
    if args.run == "generate":
        generate(work, options["n_docs"], options["n_queries"])
        return
    if args.run == "exhaustive":
        out = run_exhaustive(path)
    elif args.run == "edge":
        out = run_edge(path, work, options)
    elif args.run == "edge-search":
        out = run_edge_search(path, work, options)
    else:
        out = run_pylate(path, work, args.run, options)
    out["peak_rss_mb"] = _peak_rss_mb()
    print("RESULT " + json.dumps(out), flush=True)


def _spawn(python: str, system: str, data: Path, work: Path, options: dict | list, timeout: float) -> dict:
    cmd = [python, str(Path(__file__).resolve()), "--run", system, "--data", str(data), "--work", str(work),
           "--options", json.dumps(options)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in done.stdout.splitlines()[::-1]:
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"error": f"exit {done.returncode}: {tail[0][:160]}"}


def _row(name: str, n: int, r: dict, reference: list[list[str]] | None) -> str:
    if "error" in r:
        return f"| {name} | {n} | {r['error']} |"
    t = np.array(r["times"]) * 1000
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(r["found"], reference)]) if reference else float("nan")
    note = r.get("note", "") + (f" ({len(r['found'])} queries)" if reference and len(r["found"]) < len(reference) else "")
    fmt = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
    return (f"| {name} | {n} | {np.percentile(t, 50):.1f} | {np.percentile(t, 95):.1f} | {recall:.3f} | "
            f"{r['bytes_per_token']:.0f} | {r['file_mb']:.0f} | {r['build_s']:.1f} | {fmt(r['add_one_ms'], '.1f')} | "
            f"{fmt(r['open_first_ms'], '.0f')} | {r['peak_rss_mb']:.0f} | {note} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, nargs="+", default=[10000, 50000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--systems", default="exhaustive,edge,voyager,plaid")
    parser.add_argument("--edge-options", default='[{}, {"candidates": 128, "exact_tokens": null}]',
                        help="JSON list of search() keyword sets, each measured on the one built edge index")
    parser.add_argument("--pylate-python", default=os.environ.get("COLBERT_EDGE_PYLATE_BENCH_PYTHON", "python"),
                        help="python of an environment with pylate (and voyager) installed next to torch 2.13.0")
    parser.add_argument("--pylate-queries", type=int, default=20, help="queries timed for the (slow) PyLate indexes")
    parser.add_argument("--work", default="/tmp/colbert-edge-bench")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        child(args)
        return
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    systems = args.systems.split(",")
    print("| system | docs | p50 ms | p95 ms | recall@10 | B/token | file MB | build s | add one ms | "
          "open→first ms | peak RSS MB | note |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for n in args.docs:
        data = _corpus_path(work, n, args.queries)
        if not data.exists():  # in a child, so this process stays small
            subprocess.run([sys.executable, __file__, "--run", "generate", "--data", str(data), "--work", str(work),
                            "--options", json.dumps({"n_docs": n, "n_queries": args.queries})], check=True)
        cached = work / f"exhaustive-{n}-{args.queries}.json"  # timed again whenever it is a system
        if cached.exists() and "exhaustive" not in systems:
            reference = json.loads(cached.read_text())
        else:
            reference = _spawn(sys.executable, "exhaustive", data, work, {}, args.timeout)
            if "found" in reference:
                cached.write_text(json.dumps(reference))
        ref_found = reference.get("found")
        if "exhaustive" in systems:
            print(_row("exhaustive numpy", n, reference, ref_found), flush=True)
        if "edge" in systems:
            build = _spawn(sys.executable, "edge", data, work, [], args.timeout)
            search = _spawn(sys.executable, "edge-search", data, work, json.loads(args.edge_options), args.timeout)
            for variant in search.pop("variants", [{}]):
                note = (f"K={build.get('n_centroids')}, {variant.get('note', '')}; "
                        f"build RSS {build.get('build_rss_mb', 0):.0f} MB; first add of 1000 (trains) "
                        f"{build.get('first_add_s', 0):.1f} s, later adds {build.get('later_add_s') or 0:.1f} s")
                print(_row("edge_index", n, {**build, **search, **variant, "note": note}, ref_found), flush=True)
        for kind in ("voyager", "plaid"):
            if kind in systems:
                r = _spawn(args.pylate_python, kind, data, work, {"n_queries": args.pylate_queries}, args.timeout)
                print(_row(f"pylate {kind}", n, r, ref_found), flush=True)


if __name__ == "__main__":
    main()

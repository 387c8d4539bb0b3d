"""Benchmark: export + runtime at the LFM2-ColBERT-350M shape, PyTorch vs ONNX fp32 vs ONNX int8.

Usage: python bench/bench_encoder.py [--quick] [--threads 2] [--workdir /tmp/bench-encoder]

Prints a table; it is not a test and asserts nothing. One run measures, on the same texts and thread
count: export time and bundle size (fp32, int8) with the export's own parity figures; documents/s
and queries/s of the PyTorch reference graph and of the runtime ``Encoder`` (fp32, int8) at several
``batch_size`` / ``max_tokens`` settings; and the peak RSS (``ru_maxrss``) of each measurement.
Every measurement runs in a fresh subprocess of this script, so peaks do not mix: the ONNX workers
never import torch (checked), the PyTorch worker loads only the reference graph and the tokenizer.

The model is :func:`colbert_edge.export.fixtures.build_random_lfm2_colbert` with random weights at
the real shape: hidden 1024, 16 layers (attention at 2, 5, 8, 10, 12, 14; short convolutions
elsewhere), 16 heads / 8 kv heads, vocab 64402, dim 128, query_length 32, document_length 512, and
feed-forward width 4608. The real LFM2-350M config says intermediate_size 6656 with
block_auto_adjust_ff_dim=True, i.e. int(2 * 6656 / 3) = 4437 rounded up to a multiple of 256 =
4608; the fixture turns the auto-adjust off, so 4608 is passed directly. The fixture's tokenizer is
a small byte-level BPE, so "tokens" below are that tokenizer's; throughput depends on token counts,
which are reported. Documents are seeded multilingual text of 100-400 tokens (cut at a word),
queries 2-7 words.

The int8 export re-runs the fp32 export and both verifications, so its seconds include them. A full
run takes about 20 minutes on 2 cores, half of it exporting. Timing is one pass after a one-batch
warm-up; other jobs on the machine make the numbers noisy (the load average is printed before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

FULL = {
    "shape": dict(hidden=1024, heads=16, kv_heads=8, intermediate=4608, vocab_size=64402, dim=128,
                  query_length=32, document_length=512,
                  layer_types=tuple("full_attention" if i in (2, 5, 8, 10, 12, 14) else "conv" for i in range(16))),
    "n_documents": 64, "n_queries": 128, "doc_tokens": (100, 400),
    # (batch_size, max_tokens) per precision; fp32 is trimmed to keep the run near 20 minutes.
    "settings": {"fp32": [(1, 8192), (32, 8192)],
                 "int8": [(1, 8192), (4, 1024), (8, 2048), (8, 8192), (32, 2048), (32, 8192)]},
}
QUICK = {
    "shape": dict(hidden=128, heads=4, kv_heads=2, intermediate=512, vocab_size=2000, dim=32,
                  query_length=32, document_length=512, layer_types=("conv", "full_attention", "conv", "full_attention")),
    "n_documents": 16, "n_queries": 32, "doc_tokens": (100, 400),
    "settings": {"fp32": [(1, 8192), (32, 8192)], "int8": [(1, 8192), (32, 8192)]},
}
MAIN_SETTING = (32, 8192)  # the runtime's defaults: the setting compared with PyTorch

WORDS = (
    "report meeting budget invoice travel flight hotel password recipe doctor appointment garden "
    "library project deadline weather train station museum market school holiday contract "
    "informe reunión presupuesto factura viaje vuelo mañana mercado médico cita jardín biblioteca "
    "Bericht Besprechung Rechnung Reise Flughafen Termin Vermieter Wohnung Garten Bahnhof morgen "
    "rapport réunion facture voyage rendez-vous dentiste jardin bibliothèque gare demain marché "
    "会议 预算 报告 旅行 航班 酒店 明天 医生 图书馆 市场 学校 天气 "
    "会議 予算 請求書 旅行 来週 金曜日 病院 図書館 駅 天気 "
    "회의 예산 보고서 여행 항공편 호텔 내일 병원 도서관 시장 "
    "اجتماع ميزانية تقرير سفر رحلة فندق غدا طبيب مكتبة سوق "
    "the a of to in for on with and is was will be please send before after at by"
).split()


def _rss_now_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 14))]
    return " ".join(words).capitalize() + rng.choice([".", ".", "!", "?", ";"])


def make_texts(bundle: Path, n_documents: int, n_queries: int, doc_tokens: tuple[int, int], seed: int = 0) -> dict:
    """Seeded documents of doc_tokens[0]..doc_tokens[1] tokens (by the bundle's tokenizer) and short queries."""
    from colbert_edge.runtime import ContractTokenizer, read_manifest

    tok = ContractTokenizer.from_file(bundle / "tokenizer.json", read_manifest(bundle).contract)
    rng = random.Random(seed)
    documents, lengths = [], []
    for _ in range(n_documents):
        target, words = rng.randint(*doc_tokens), []
        while not words or tok.n_tokens(" ".join(words)) < target:
            words += _sentence(rng).split()
        low, high = 1, len(words)  # the fewest words that reach the target
        while low < high:
            mid = (low + high) // 2
            low, high = (mid + 1, high) if tok.n_tokens(" ".join(words[:mid])) < target else (low, mid)
        documents.append(" ".join(words[:low]))
        lengths.append(tok.n_tokens(documents[-1]))
    queries = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7))) for _ in range(n_queries)]
    return {"documents": documents, "queries": queries, "doc_lengths": lengths}


# ----------------------------------------------------------------------------------------- workers

def worker_build(spec: dict) -> dict:
    from colbert_edge.export.fixtures import build_random_lfm2_colbert

    started = time.perf_counter()
    build_random_lfm2_colbert(spec["folder"], **{**spec["shape"], "layer_types": tuple(spec["shape"]["layer_types"])})
    return {"seconds": time.perf_counter() - started}


def worker_export(spec: dict) -> dict:
    import torch

    from colbert_edge.export import export_model

    torch.set_num_threads(spec["threads"])
    report = export_model(spec["folder"], spec["out"], precision=spec["precision"])
    return {"seconds": report.seconds, "model_bytes": report.model_bytes, "fp32": report.fp32.to_dict(),
            "int8": report.int8.to_dict() if report.int8 else None, "peak_rss_mb": _peak_rss_mb()}


def _timed(encode, texts: list[str]) -> float:
    encode(texts[:2])  # warm-up: one small batch, not timed
    started = time.perf_counter()
    encode(texts)
    return time.perf_counter() - started


def worker_torch(spec: dict) -> dict:
    """The PyTorch reference on the runtime's batches: same tokenizer, same sort and chunking."""
    import torch

    from colbert_edge.export.graph import build_graph
    from colbert_edge.export.source import load_source
    from colbert_edge.export.verify import reference_vectors
    from colbert_edge.runtime import ContractTokenizer, read_manifest
    from colbert_edge.runtime.encoder import _chunks

    torch.set_num_threads(spec["threads"])
    bundle = Path(spec["bundle"])
    contract = read_manifest(bundle).contract
    tok = ContractTokenizer.from_file(bundle / "tokenizer.json", contract)  # what Encoder.tokenizer is
    graph, _, _ = build_graph(load_source(spec["folder"]))
    loaded_rss, load_peak = _rss_now_mb(), _peak_rss_mb()
    batch_size, max_tokens = spec["setting"]

    def encode(texts: list[str], is_query: bool) -> list:
        ids = tok.token_ids(texts, is_query=is_query)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        fixed = contract.query_length if is_query and contract.do_query_expansion else None
        widths = [fixed or len(ids[i]) + 1 for i in order]
        out = []
        for chunk in _chunks(order, widths, batch_size, max_tokens):
            batch = tok.batch([ids[i] for i in chunk], is_query=is_query)
            vectors = reference_vectors(graph, batch)  # (batch, seq, dim)
            out += [vectors[row][batch.keep[row]] for row in range(len(chunk))]
        return out

    texts = json.loads(Path(spec["texts"]).read_text())
    doc_s = _timed(lambda t: encode(t, False), texts["documents"])
    query_s = _timed(lambda t: encode(t, True), texts["queries"])
    return {"doc_s": doc_s, "query_s": query_s, "loaded_rss_mb": loaded_rss, "load_peak_rss_mb": load_peak,
            "peak_rss_mb": _peak_rss_mb()}


def worker_onnx(spec: dict) -> dict:
    from colbert_edge.runtime import Encoder

    texts = json.loads(Path(spec["texts"]).read_text())
    batch_size, max_tokens = spec["setting"]
    encoder = Encoder.load(spec["bundle"], threads=spec["threads"])
    loaded_rss, load_peak = _rss_now_mb(), _peak_rss_mb()
    with encoder:
        doc_s = _timed(lambda t: encoder.encode_documents(t, batch_size=batch_size, max_tokens=max_tokens), texts["documents"])
        query_s = _timed(lambda t: encoder.encode_queries(t, batch_size=batch_size, max_tokens=max_tokens), texts["queries"])
    return {"doc_s": doc_s, "query_s": query_s, "loaded_rss_mb": loaded_rss, "load_peak_rss_mb": load_peak,
            "peak_rss_mb": _peak_rss_mb(), "torch_imported": "torch" in sys.modules}


WORKERS = {"build": worker_build, "export": worker_export, "torch": worker_torch, "onnx": worker_onnx}


# ------------------------------------------------------------------------------------------ driver

def run_worker(kind: str, spec: dict, timeout: float = 3600) -> dict:
    """Run one worker in a fresh interpreter; its result is the JSON on its last stdout line."""
    cmd = [sys.executable, __file__, "--worker", kind, "--spec", json.dumps(spec)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} worker failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:,.0f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small shape and few texts, for a smoke run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", default="/tmp/bench-encoder")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(WORKERS[args.worker](json.loads(args.spec))))
        return 0

    plan = QUICK if args.quick else FULL
    work = Path(args.workdir) / ("quick" if args.quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    folder, threads, started = work / "model", args.threads, time.perf_counter()
    say = lambda msg: print(f"[{time.perf_counter() - started:6.0f}s] {msg}", file=sys.stderr, flush=True)
    load_before = os.getloadavg()

    shape = {**plan["shape"], "layer_types": list(plan["shape"]["layer_types"])}
    stamp = folder / "bench-shape.json"
    if not (stamp.is_file() and json.loads(stamp.read_text()) == shape):
        say(f"building the random model at {folder}")
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        run_worker("build", {"folder": str(folder), "shape": shape})
        stamp.write_text(json.dumps(shape))

    exports = {}
    for precision in ("fp32", "int8"):
        say(f"exporting {precision}")
        exports[precision] = run_worker("export", {"folder": str(folder), "out": str(work / f"bundle-{precision}"),
                                                   "precision": precision, "threads": threads})
    texts_path = work / "texts.json"
    texts = make_texts(work / "bundle-fp32", plan["n_documents"], plan["n_queries"], plan["doc_tokens"])
    texts_path.write_text(json.dumps(texts, ensure_ascii=False))
    n_docs, n_queries = len(texts["documents"]), len(texts["queries"])
    doc_tokens = sum(texts["doc_lengths"])

    runs = []  # (engine, precision, setting, result)
    say("PyTorch fp32 reference")
    runs.append(("PyTorch", "fp32", MAIN_SETTING, run_worker("torch", {
        "folder": str(folder), "bundle": str(work / "bundle-fp32"), "texts": str(texts_path),
        "threads": threads, "setting": list(MAIN_SETTING)})))
    for precision in ("fp32", "int8"):
        for setting in plan["settings"][precision]:
            say(f"ONNX {precision} batch_size={setting[0]} max_tokens={setting[1]}")
            runs.append(("ONNX", precision, setting, run_worker("onnx", {
                "bundle": str(work / f"bundle-{precision}"), "texts": str(texts_path),
                "threads": threads, "setting": list(setting)})))

    # ------------------------------------------------------------------------------------ table
    s = plan["shape"]
    print(f"# bench_encoder{' --quick' if args.quick else ''}: random LFM2-ColBERT, hidden {s['hidden']}, "
          f"{len(s['layer_types'])} layers, ff {s['intermediate']}, vocab {s['vocab_size']}, dim {s['dim']}; "
          f"{threads} threads, onnxruntime CPU")
    print(f"# texts: {n_docs} documents, {doc_tokens} tokens (min {min(texts['doc_lengths'])}, mean "
          f"{doc_tokens / n_docs:.0f}, max {max(texts['doc_lengths'])}); {n_queries} queries (padded to "
          f"{s['query_length']}). Load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}: numbers are noisy.")
    print()
    print("| export | seconds | model.onnx | peak RSS | fp32 max|diff| vs torch | int8 mean / min cosine | int8 top-10 agreement |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for precision, r in exports.items():
        q = r["int8"]
        print(f"| {precision} | {r['seconds']:.0f} | {_mb(r['model_bytes'])} | {r['peak_rss_mb']:,.0f} MB | "
              f"{r['fp32']['max_abs_diff']:.2e} | " + (f"{q['mean_cosine']:.4f} / {q['min_cosine']:.4f} | {q['top10_agreement']:.2f} |" if q else "- | - |"))
    print()
    base = runs[0][3]
    print("| engine | precision | batch_size | max_tokens | docs/s | doc tokens/s | queries/s | docs x torch | queries x torch "
          "| RSS after load | peak RSS load | peak RSS | peak / torch |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for engine, precision, (bs, mt), r in runs:
        print(f"| {engine} | {precision} | {bs} | {mt} | {n_docs / r['doc_s']:.2f} | {doc_tokens / r['doc_s']:,.0f} | "
              f"{n_queries / r['query_s']:.2f} | {base['doc_s'] / r['doc_s']:.2f} | {base['query_s'] / r['query_s']:.2f} | "
              f"{r['loaded_rss_mb']:,.0f} MB | {r['load_peak_rss_mb']:,.0f} MB | {r['peak_rss_mb']:,.0f} MB | "
              f"{r['peak_rss_mb'] / base['peak_rss_mb']:.2f} |")
    print("\nRSS after load = VmRSS once loaded, before any text; PyTorch's safetensors weights are memory-mapped "
          "and count only once touched, so its figure is low. peak RSS load / peak RSS = ru_maxrss after load / at the end.")
    if any(r.get("torch_imported") for *_, r in runs):
        print("\nWARNING: an ONNX worker imported torch; its RSS is not an ONNX-only figure.")

    # --------------------------------------------------------------------------------- targets
    onnx = [(p, st, r) for e, p, st, r in runs if e == "ONNX"]
    int8_main = next(r for p, st, r in onnx if p == "int8" and st == MAIN_SETTING)
    best_int8 = max((base["doc_s"] / r["doc_s"], st) for p, st, r in onnx if p == "int8")
    phone = sorted((r["peak_rss_mb"], st) for p, st, r in onnx if p == "int8")
    print()
    print("| target | measured | met |")
    print("|---|---|---|")
    ratio = base["doc_s"] / int8_main["doc_s"]
    print(f"| int8 >= 2x PyTorch fp32 documents/s (both at {MAIN_SETTING}) | {ratio:.2f}x | {'yes' if ratio >= 2 else 'no'} |")
    print(f"| (best int8 setting) | {best_int8[0]:.2f}x at batch_size/max_tokens {best_int8[1]} | {'yes' if best_int8[0] >= 2 else 'no'} |")
    size = exports["int8"]["model_bytes"]
    print(f"| int8 bundle <= 400 MB | {_mb(size)} | {'yes' if size <= 400e6 else 'no'} |")
    for precision in ("int8", "fp32"):
        worst = max(r["peak_rss_mb"] for p, _, r in onnx if p == precision)
        print(f"| ONNX-only ({precision}) peak RSS <= half of PyTorch's ({base['peak_rss_mb']:,.0f} MB) | worst setting "
              f"{worst:,.0f} MB ({worst / base['peak_rss_mb']:.2f}) | {'yes' if worst <= base['peak_rss_mb'] / 2 else 'no'} |")
    print(f"| phone: int8 peak RSS < 500 MB | lowest {phone[0][0]:,.0f} MB at batch_size/max_tokens {phone[0][1]} | "
          f"{'yes' if phone[0][0] < 500 else 'no'} |")
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())

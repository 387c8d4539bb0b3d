"""``export_model``: a PyLate ColBERT model -> a verified bundle folder (shared/DESIGN.md, step 1-2).

source -> resolve the contract -> reference graph -> ONNX fp32 -> verify fp32 (max abs diff <=
``FP32_TOLERANCE`` or fail) -> [int8: quantize per-channel -> verify against the fp32 reference;
mean token cosine >= ``INT8_MIN_MEAN_COSINE`` or fail] -> tokenizer.json + manifest.json.

Everything is written into a temporary folder beside ``out`` and renamed into place only after
verification passed, so a failed or interrupted export leaves no half-written bundle (an existing
bundle at ``out`` is replaced only by a complete, verified one).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from colbert_edge.errors import InvalidArgument, OutputNotWritable, VerificationFailed
from colbert_edge.export.graph import build_graph
from colbert_edge.export.onnx_io import OUTPUT_NAME, export_onnx, externalize, quantize_int8
from colbert_edge.export.source import load_source
from colbert_edge.export.verify import Parity, measure
from colbert_edge.runtime.manifest import MODEL_FILE, TOKENIZER_FILE, Manifest, write_manifest
from colbert_edge.runtime.tokenization import ContractTokenizer

__all__ = ["FP32_TOLERANCE", "INT8_MIN_MEAN_COSINE", "ExportReport", "export_model"]

FP32_TOLERANCE = 1e-4
INT8_MIN_MEAN_COSINE = 0.98
PRECISIONS = ("fp32", "int8")


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote and measured."""

    bundle: Path
    manifest: Manifest
    fp32: Parity
    int8: Parity | None
    seconds: float
    model_bytes: int


def _prepare_out(out: Path) -> Path:
    """Check ``out`` can be written; return a fresh temporary folder beside it."""
    if out.exists() and not out.is_dir():
        raise OutputNotWritable(f"--out {str(out)!r} is a file; pass a folder path for the bundle")
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise OutputNotWritable(f"--out {str(out)!r} is a non-empty folder that is not a bundle; pass a new or empty folder")
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=parent))
    except OSError as exc:
        raise OutputNotWritable(f"cannot write the bundle to {str(out)!r} ({exc.strerror}); pass a writable --out folder") from exc


def _install(tmp: Path, out: Path) -> None:
    """Move the finished bundle into place, replacing an older bundle only at the last moment."""
    tmp.chmod(0o755)  # mkdtemp makes it private; a bundle is meant to be copied and shared
    for path in tmp.iterdir():
        path.chmod(0o644)
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export_model(
    source: str | Path,
    out: str | Path,
    *,
    precision: str = "fp32",
    revision: str | None = None,
    opset: int = 17,
    log: Callable[[str], None] | None = None,
) -> ExportReport:
    """Export ``source`` (model folder or hub id) to the bundle folder ``out``; see the module docstring."""
    if precision not in PRECISIONS:
        raise InvalidArgument(f"precision {precision!r} is not one of {PRECISIONS}")
    say = log or (lambda _msg: None)
    started = time.perf_counter()
    out = Path(out)
    model = load_source(source, revision)
    say(f"source {model.model_id}: {model.contract}")
    graph, architecture, causal = build_graph(model)
    # The graph's forward order; token_type_ids only when the tokenizer produces them.
    input_names = ("input_ids", "attention_mask") + (("token_type_ids",) if graph.takes_token_types else ())
    dim = model.dense[-1].out_features
    tmp = _prepare_out(out)
    try:
        model.tokenizer.backend_tokenizer.save(str(tmp / TOKENIZER_FILE))
        tokenizer = ContractTokenizer.from_file(tmp / TOKENIZER_FILE, model.contract)
        fp32_path = tmp / ("model.fp32.onnx" if precision == "int8" else MODEL_FILE)
        say("exporting ONNX (fp32)")
        export_onnx(graph, fp32_path, input_names, opset)
        if precision == "fp32":
            externalize(fp32_path)  # what is verified is exactly what ships
        say("verifying fp32 against the PyTorch reference")
        fp32 = measure(graph, fp32_path, tokenizer, input_names)
        if not fp32.max_abs_diff <= FP32_TOLERANCE:
            raise VerificationFailed(
                f"the fp32 ONNX graph differs from the PyTorch reference by {fp32.max_abs_diff:.3g} "
                f"(> {FP32_TOLERANCE}); the export is not faithful for {model.model_id!r}"
            )
        int8 = None
        if precision == "int8":
            say("quantizing to int8 (per-channel)")
            quantize_int8(fp32_path, tmp / MODEL_FILE)
            fp32_path.unlink()
            externalize(tmp / MODEL_FILE)
            int8 = measure(graph, tmp / MODEL_FILE, tokenizer, input_names)
            if not int8.mean_cosine >= INT8_MIN_MEAN_COSINE:
                raise VerificationFailed(
                    f"int8 token vectors reach mean cosine {int8.mean_cosine:.4f} (worst {int8.min_cosine:.4f}) "
                    f"against fp32, below the floor {INT8_MIN_MEAN_COSINE}; export with --precision fp32"
                )
        parity = {"fp32_vs_torch": fp32.to_dict(), "tolerance_fp32": FP32_TOLERANCE}
        if int8 is not None:
            parity["int8_vs_torch_fp32"] = int8.to_dict()
            parity["floor_int8_mean_cosine"] = INT8_MIN_MEAN_COSINE
        manifest = write_manifest(
            tmp, architecture=architecture, causal=causal, dim=dim, onnx_inputs=tuple(input_names),
            onnx_output=OUTPUT_NAME, precision=precision, contract=model.contract,
            source={"model": model.model_id, "revision": model.revision}, parity=parity,
        )
        _install(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportReport(
        bundle=out, manifest=manifest, fp32=fp32, int8=int8, seconds=time.perf_counter() - started,
        model_bytes=sum((out / name).stat().st_size for name in manifest.files if name != TOKENIZER_FILE),
    )

"""ONNX files: export the reference graph, quantize it to int8, store its weights beside it.

:func:`export_onnx` uses the TorchScript exporter (``dynamo=False``, opset 17) with dynamic batch
and sequence axes; LFM2 exports with plain ops (the backbone builds its own masks). Input names
follow the tokenizer's ``model_input_names`` (``token_type_ids`` only when the tokenizer has it).
:func:`quantize_int8` stores int8 weights: blockwise for MatMuls, per row for
embedding tables (per-tensor scales measurably damage token vectors: mean cosine 0.93, worst 0.58
on MiniLM).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

__all__ = ["OUTPUT_NAME", "DATA_SUFFIX", "export_onnx", "quantize_int8", "externalize"]

OUTPUT_NAME = "token_embeddings"
DATA_SUFFIX = ".data"


def externalize(path: Path) -> Path:
    """Rewrite ``path`` with its weights in ``<name>.data`` beside it; return the data file.

    onnxruntime memory-maps external weights instead of copying them into the process, so a
    session's resident memory stays near the graph's working set: measured on the int8 bundle at
    the real LFM2-ColBERT-350M shape, 364 MB after load instead of 672 MB (bench/bench_encoder.py).
    """
    import onnx

    data = path.with_name(path.name + DATA_SUFFIX)
    model = onnx.load(str(path))
    if data.exists():
        data.unlink()
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=data.name, size_threshold=1024)
    if not data.exists():  # a graph with no tensor over the threshold: keep an empty data file
        data.write_bytes(b"")
    return data


def export_onnx(graph: torch.nn.Module, path: Path, input_names: tuple[str, ...], opset: int = 17) -> None:
    """Write ``graph`` to ``path``; inputs int64 (batch, sequence), output (batch, sequence, dim)."""
    example = torch.tensor([[1, 5, 6, 7, 2], [1, 5, 6, 2, 0]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], dtype=torch.long)
    args: tuple[torch.Tensor, ...] = (example, mask)
    if "token_type_ids" in input_names:
        args = args + (torch.zeros_like(example),)
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    axes[OUTPUT_NAME] = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(
            graph, args, str(path), input_names=list(input_names), output_names=[OUTPUT_NAME],
            dynamic_axes=axes, opset_version=opset, dynamo=False, do_constant_folding=True,
        )


def quantize_int8(fp32_path: Path, int8_path: Path, block_size: int = 128) -> None:
    """int8 weights for every MatMul (blockwise, symmetric) and per-row int8 embedding tables.

    MatMuls become ``MatMulNBits`` with 8-bit weights in blocks of ``block_size`` along the input
    dimension (a finer grain than per-output-channel scales), computed with ``accuracy_level=4``
    (int8 activations per block). Embedding tables (``Gather`` on a 2-D initializer) are stored as
    int8 with one scale per row and dequantized after the lookup. Measured on MiniLM against fp32:
    see the README; onnxruntime's ``quantize_dynamic`` (per-tensor activations) lost more.
    """
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(str(fp32_path), bits=8, block_size=block_size, is_symmetric=True, accuracy_level=4)
    quantizer.process()
    model = quantizer.model.model
    _quantize_embedding_rows(model)
    onnx.save_model(model, str(int8_path))


def _quantize_embedding_rows(model: "onnx.ModelProto") -> None:  # noqa: F821
    """Replace each ``Gather(table, ids)`` on a large 2-D float initializer by int8 rows * row scales."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    tables = {t.name: t for t in graph.initializer if t.data_type == TensorProto.FLOAT and len(t.dims) == 2 and t.dims[0] * t.dims[1] >= 4096}
    new_nodes = []
    for node in graph.node:
        if node.op_type != "Gather" or node.input[0] not in tables:
            new_nodes.append(node)
            continue
        table = tables.pop(node.input[0])
        weights = numpy_helper.to_array(table).astype(np.float32)  # (rows, width)
        scale = np.abs(weights).max(axis=1, keepdims=True) / 127.0  # (rows, 1)
        scale[scale == 0] = 1.0
        codes = np.clip(np.rint(weights / scale), -127, 127).astype(np.int8)
        base = table.name
        graph.initializer.remove(table)
        graph.initializer.extend([numpy_helper.from_array(codes, f"{base}_int8"), numpy_helper.from_array(scale.astype(np.float32), f"{base}_scale")])
        out = node.output[0]
        new_nodes += [
            helper.make_node("Gather", [f"{base}_int8", node.input[1]], [f"{out}_q"], axis=0),
            helper.make_node("Cast", [f"{out}_q"], [f"{out}_f"], to=TensorProto.FLOAT),
            helper.make_node("Gather", [f"{base}_scale", node.input[1]], [f"{out}_s"], axis=0),
            helper.make_node("Mul", [f"{out}_f", f"{out}_s"], [out]),
        ]
    del graph.node[:]
    graph.node.extend(new_nodes)

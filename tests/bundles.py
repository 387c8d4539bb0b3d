"""Test bundles and their PyTorch reference vectors, built once per run.

``python tests/bundles.py OUT`` (in an environment with the [export] extra) writes, under OUT:
``lfm2/`` and ``minilm/`` model folders, ``lfm2-fp32``, ``lfm2-int8``, ``minilm-fp32`` and
``minilm-int8`` bundles, and ``reference-lfm2.npz`` / ``reference-minilm.npz``: the PyTorch
reference vectors of :data:`QUERIES` and :data:`DOCUMENTS`, each text encoded alone. CI then runs the
runtime tests in a torch-free environment against that folder (``COLBERT_EDGE_TEST_BUNDLES=OUT``);
without the variable the tests build it themselves.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

QUERIES = [
    "where is the wifi password?",
    "¿Cuándo compramos pan?",
    "Vermieter Besprechung",
    "会议 时间",
    "",
    "   ",
    "x" * 3000,
    "emoji 🙂🚀 and control \x00\x07 chars",
    "a lone surrogate \ud800 in text",
    "الاجتماع",
]
DOCUMENTS = QUERIES + [
    "The quarterly report is due on Friday; send the draft to Maria before noon.",
    "... !!! ??? ,,, ;;;",
    " ".join(["A very long document about budgets, flights and passports."] * 200),
    "来週の金曜日までに請求書を送ってください。다음 주 월요일에 회의가 있습니다.",
]
BUNDLES = {"lfm2-fp32": ("lfm2", "fp32"), "lfm2-int8": ("lfm2", "int8"),
           "minilm-fp32": ("minilm", "fp32"), "minilm-int8": ("minilm", "int8")}


def reference(folder: Path) -> dict[str, np.ndarray]:
    """PyTorch reference vectors of QUERIES and DOCUMENTS for a model folder, each encoded alone."""
    from tokenizers import Tokenizer

    from colbert_edge.export.graph import build_graph
    from colbert_edge.export.source import load_source
    from colbert_edge.export.verify import reference_vectors
    from colbert_edge.runtime.tokenization import ContractTokenizer

    source = load_source(folder)
    graph, _, _ = build_graph(source)
    tokenizer = ContractTokenizer(Tokenizer.from_str(source.tokenizer.backend_tokenizer.to_str()), source.contract)
    out: dict[str, np.ndarray] = {}
    for kind, texts in (("q", QUERIES), ("d", DOCUMENTS)):
        for i, text in enumerate(texts):
            batch = tokenizer.encode([text], is_query=kind == "q")
            out[f"{kind}{i}"] = reference_vectors(graph, batch)[0][batch.keep[0]]
            out[f"{kind}{i}_ids"] = batch.input_ids[0][batch.keep[0]]
    return out


def build(root: Path) -> Path:
    """Build the model folders, the four bundles and the reference files under ``root``."""
    from colbert_edge.export import export_model
    from colbert_edge.export.fixtures import build_minilm_colbert, build_random_lfm2_colbert

    root.mkdir(parents=True, exist_ok=True)
    folders = {"lfm2": build_random_lfm2_colbert(root / "lfm2"), "minilm": build_minilm_colbert(root / "minilm")}
    for name, (model, precision) in BUNDLES.items():
        export_model(folders[model], root / name, precision=precision)
    for model, folder in folders.items():
        np.savez(root / f"reference-{model}.npz", **reference(folder))
    return root


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))

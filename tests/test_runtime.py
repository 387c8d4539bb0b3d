"""Runtime: bundle -> token vectors equal to the PyTorch reference, torch-free, batch-invariant."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bundles import DOCUMENTS, QUERIES
from colbert_edge.errors import BundleError, ColbertEdgeError, InvalidText
from colbert_edge.runtime import Encoder, read_manifest
from colbert_edge.runtime.encoder import _chunks


@pytest.fixture(scope="module", params=["lfm2", "minilm"])
def model(request: pytest.FixtureRequest, bundle_root: Path) -> str:
    return request.param


def test_fp32_vectors_equal_reference(model: str, bundle_root: Path, references: dict) -> None:
    ref = references[model]
    with Encoder.load(bundle_root / f"{model}-fp32") as enc:
        queries = enc.encode_queries(QUERIES)
        documents = enc.encode_documents(DOCUMENTS)
        contract = enc.manifest.contract
    for i, got in enumerate(queries):
        assert got.shape == (contract.query_length, enc.dim)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, ref[f"q{i}"], atol=1e-5, rtol=0)
    for i, got in enumerate(documents):
        assert got.shape == ref[f"d{i}"].shape, f"kept-token mask differs for document {i}"
        np.testing.assert_allclose(got, ref[f"d{i}"], atol=1e-5, rtol=0)
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_kept_ids_follow_the_contract(model: str, bundle_root: Path, references: dict) -> None:
    ref = references[model]
    enc = Encoder.load(bundle_root / f"{model}-fp32")
    c = enc.manifest.contract
    for i, text in enumerate(DOCUMENTS):
        batch = enc.tokenizer.encode([text], is_query=False)
        kept = batch.input_ids[0][batch.keep[0]]
        np.testing.assert_array_equal(kept, ref[f"d{i}_ids"])
        assert kept[1] == c.document_prefix_id
        assert not set(kept.tolist()) & set(c.skiplist_ids)
        assert len(kept) <= c.document_length
    q = enc.tokenizer.encode(["wifi password"], is_query=True)
    assert q.input_ids.shape == (1, c.query_length)
    assert q.input_ids[0, 1] == c.query_prefix_id
    n_real = int(q.attention_mask[0].sum())
    assert (q.input_ids[0, n_real:] == c.expansion_token_id).all()  # expansion slots, not attended
    assert (q.attention_mask[0, n_real:] == 0).all()


def test_text_alone_equals_text_in_any_batch(model: str, bundle_root: Path) -> None:
    enc = Encoder.load(bundle_root / f"{model}-fp32")
    rng = np.random.default_rng(0)
    pool = DOCUMENTS * 3
    texts = [pool[i] for i in rng.permutation(len(pool))[:32]]
    batched_q = enc.encode_queries(texts, batch_size=32)
    batched_d = enc.encode_documents(texts, batch_size=7, max_tokens=400)
    for text, bq, bd in zip(texts, batched_q, batched_d):
        np.testing.assert_allclose(enc.encode_queries([text])[0], bq, atol=1e-5, rtol=0)
        np.testing.assert_allclose(enc.encode_documents([text])[0], bd, atol=1e-5, rtol=0)


def test_int8_bundle_stays_close(model: str, bundle_root: Path, references: dict) -> None:
    ref = references[model]
    enc = Encoder.load(bundle_root / f"{model}-int8")
    assert enc.manifest.precision == "int8"
    got = np.concatenate(enc.encode_documents(DOCUMENTS))
    want = np.concatenate([ref[f"d{i}"] for i in range(len(DOCUMENTS))])
    cosine = np.sum(got * want, axis=1)
    assert cosine.mean() >= 0.98
    assert enc.manifest.parity["int8_vs_torch_fp32"]["mean_cosine"] >= 0.98


@pytest.mark.parametrize("bad", [3, None, b"bytes", ["list"]])
def test_non_string_is_refused_by_name(bundle_root: Path, bad: object) -> None:
    enc = Encoder.load(bundle_root / "lfm2-fp32")
    with pytest.raises(InvalidText, match="position 1"):
        enc.encode_documents(["fine", bad])  # type: ignore[list-item]


def test_edge_texts_have_sane_shapes(bundle_root: Path) -> None:
    enc = Encoder.load(bundle_root / "lfm2-fp32")
    c = enc.manifest.contract
    empty, spaces, huge = enc.encode_documents(["", " \n\t ", "word " * 10_000])
    assert empty.shape[0] == 2 and spaces.shape[0] == 2  # BOS and the prefix, as PyLate keeps them
    assert huge.shape[0] <= c.document_length
    # A lone surrogate is replaced by U+FFFD, so the text equals the one with U+FFFD written out.
    np.testing.assert_array_equal(enc.encode_documents(["a\ud800b"])[0], enc.encode_documents(["a\ufffdb"])[0])


def test_progress_reports_every_batch(bundle_root: Path) -> None:
    enc = Encoder.load(bundle_root / "lfm2-fp32")
    seen: list[tuple[int, int]] = []
    enc.encode_documents(DOCUMENTS, batch_size=4, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (len(DOCUMENTS), len(DOCUMENTS))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) >= len(DOCUMENTS) // 4


def test_batches_respect_the_token_cap() -> None:
    widths = [3, 5, 8, 40, 41, 100]
    chunks = _chunks(list(range(6)), widths, batch_size=4, max_tokens=90)
    assert [i for c in chunks for i in c] == list(range(6))
    for c in chunks:
        assert len(c) <= 4
        assert len(c) == 1 or len(c) * max(widths[i] for i in c) <= 90


def _copy(bundle_root: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "bundle"
    shutil.copytree(bundle_root / "lfm2-fp32", dst)
    return dst


@pytest.mark.parametrize("name", ["model.onnx", "model.onnx.data", "tokenizer.json"])
def test_truncated_file_is_refused_naming_it(bundle_root: Path, tmp_path: Path, name: str) -> None:
    bundle = _copy(bundle_root, tmp_path)
    data = (bundle / name).read_bytes()
    (bundle / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match=f"{name} does not match its manifest"):
        Encoder.load(bundle)


def test_manifest_cannot_point_outside_the_bundle(bundle_root: Path, tmp_path: Path) -> None:
    bundle = _copy(bundle_root, tmp_path)
    data = json.loads((bundle / "manifest.json").read_text())
    data["files"]["../secret"] = {"sha256": "0"}
    (bundle / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(BundleError, match="not a plain file name"):
        Encoder.load(bundle)


def test_swapped_model_is_refused(bundle_root: Path, tmp_path: Path) -> None:
    bundle = _copy(bundle_root, tmp_path)
    shutil.copy(bundle_root / "minilm-fp32" / "model.onnx", bundle / "model.onnx")
    with pytest.raises(BundleError, match="does not match its manifest"):
        Encoder.load(bundle)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: (b / "manifest.json").unlink(), "no manifest.json"),
        (lambda b: (b / "manifest.json").write_text("{not json"), "not valid JSON"),
        (lambda b: (b / "tokenizer.json").unlink(), "missing tokenizer.json"),
        (lambda b: _edit(b, format_version=99), "format_version 99"),
        (lambda b: _edit(b, format="other"), "not a colbert-edge bundle"),
    ],
)
def test_broken_bundles_get_a_named_error(bundle_root: Path, tmp_path: Path, damage, message: str) -> None:
    bundle = _copy(bundle_root, tmp_path)
    damage(bundle)
    with pytest.raises(BundleError, match=message):
        Encoder.load(bundle)


def _edit(bundle: Path, **fields: object) -> None:
    data = json.loads((bundle / "manifest.json").read_text())
    data.update(fields)
    (bundle / "manifest.json").write_text(json.dumps(data))


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ColbertEdgeError, match="not a folder"):
        read_manifest(tmp_path / "nope")


def test_runtime_never_imports_torch(bundle_root: Path) -> None:
    code = (
        "import sys\n"
        "from colbert_edge.runtime import Encoder\n"
        "import colbert_edge.edge_index\n"
        f"enc = Encoder.load({str(bundle_root / 'lfm2-int8')!r})\n"
        "assert enc.encode_queries(['hola'])[0].shape[0] > 0\n"
        "assert enc.encode_documents(['hola mundo'])[0].shape[0] > 0\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers'))\n"
        "print('HEAVY', bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "HEAVY []" in done.stdout

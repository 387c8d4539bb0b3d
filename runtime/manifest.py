"""The bundle manifest: the only contract between the exporter and the runtime.

A bundle is a folder with ``model.onnx``, ``tokenizer.json`` and ``manifest.json``. The manifest
holds every value the runtime needs to turn text into exactly the token vectors PyLate would
return (see shared/DESIGN.md, "Contracts that must hold exactly"), the sha256 of each file, and
the parity figures the exporter measured. The runtime never hard-codes a token id: it reads them
here. :func:`read_manifest` refuses a bundle whose manifest is missing, of an unknown format
version, or whose files do not match their recorded hashes.

Layout of ``manifest.json`` (format_version 1)::

    {
      "format": "colbert-edge-bundle", "format_version": 1,
      "architecture": "lfm2" | "bert" | ...,   "causal": true | false,
      "dim": 128,
      "onnx_inputs": ["input_ids", "attention_mask"],   # names the graph declares, in order
      "onnx_output": "token_embeddings",                  # (batch, seq, dim) float32, L2-normalised
      "precision": "fp32" | "int8",
      "contract": {                                        # see TokenContract
        "query_prefix_id": 5 | null, "document_prefix_id": 6 | null, "prefix_position": 1,
        "query_length": 32, "document_length": 512,
        "do_query_expansion": true, "expansion_token_id": 7,
        "attend_to_expansion_tokens": false,
        "skiplist_ids": [...], "lowercase": false
      },
      "source": {"model": "LiquidAI/LFM2-ColBERT-350M" | "/path", "revision": "..." | null},
      "files": {"model.onnx": {"sha256": "...", "bytes": 123}, "model.onnx.data": {...},
                "tokenizer.json": {...}},                  # model.onnx.data: the graph's weights
      "fingerprint": "sha256 over the files' hashes and the contract",
      "parity": {...}                                      # measured by the exporter
    }
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from colbert_edge.errors import BundleError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MODEL_FILE",
    "MODEL_DATA_FILE",
    "TOKENIZER_FILE",
    "MANIFEST_FILE",
    "TokenContract",
    "Manifest",
    "read_manifest",
    "write_manifest",
    "sha256_file",
]

FORMAT = "colbert-edge-bundle"
FORMAT_VERSION = 1
MODEL_FILE = "model.onnx"
MODEL_DATA_FILE = "model.onnx.data"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class TokenContract:
    """How text becomes input ids for one model (PyLate semantics, see shared/DESIGN.md).

    ``*_prefix_id`` is None when the model uses no prefix (PyLate's empty-string prefix); then the
    length budget is not reduced by one. ``expansion_token_id`` pads queries (when
    ``do_query_expansion``) and every right-padded batch, as PyLate sets the tokenizer's pad id.
    """

    query_prefix_id: int | None
    document_prefix_id: int | None
    query_length: int
    document_length: int
    do_query_expansion: bool
    expansion_token_id: int
    attend_to_expansion_tokens: bool
    skiplist_ids: tuple[int, ...]
    lowercase: bool
    prefix_position: int = 1

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TokenContract":
        fields = dict(data)
        fields["skiplist_ids"] = tuple(int(i) for i in fields.get("skiplist_ids", ()))
        try:
            return cls(**fields)
        except TypeError as exc:
            raise BundleError(f"manifest contract is malformed ({exc}); re-export the bundle") from exc

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["skiplist_ids"] = list(self.skiplist_ids)
        return data


@dataclass(frozen=True)
class Manifest:
    """A parsed, hash-checked ``manifest.json`` (see the module docstring for the layout)."""

    architecture: str
    causal: bool
    dim: int
    onnx_inputs: tuple[str, ...]
    onnx_output: str
    precision: str
    contract: TokenContract
    source: dict[str, Any]
    files: dict[str, dict[str, Any]]
    fingerprint: str
    parity: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "architecture": self.architecture,
            "causal": self.causal,
            "dim": self.dim,
            "onnx_inputs": list(self.onnx_inputs),
            "onnx_output": self.onnx_output,
            "precision": self.precision,
            "contract": self.contract.to_dict(),
            "source": self.source,
            "files": self.files,
            "fingerprint": self.fingerprint,
            "parity": self.parity,
        }


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint_of(files: dict[str, dict[str, Any]], contract: TokenContract) -> str:
    """What determines the vectors: the files' hashes and the token contract."""
    payload = json.dumps(
        {"files": {name: info["sha256"] for name, info in sorted(files.items())}, "contract": contract.to_dict()},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def write_manifest(
    bundle: Path,
    *,
    architecture: str,
    causal: bool,
    dim: int,
    onnx_inputs: tuple[str, ...],
    onnx_output: str,
    precision: str,
    contract: TokenContract,
    source: dict[str, Any],
    parity: dict[str, Any],
) -> Manifest:
    """Hash the bundle's files and write ``manifest.json`` next to them; return the manifest."""
    files = {}
    names = [MODEL_FILE, TOKENIZER_FILE] + ([MODEL_DATA_FILE] if (bundle / MODEL_DATA_FILE).exists() else [])
    for name in names:
        path = bundle / name
        files[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    manifest = Manifest(
        architecture=architecture,
        causal=causal,
        dim=dim,
        onnx_inputs=tuple(onnx_inputs),
        onnx_output=onnx_output,
        precision=precision,
        contract=contract,
        source=source,
        files=files,
        fingerprint=fingerprint_of(files, contract),
        parity=parity,
    )
    (bundle / MANIFEST_FILE).write_text(json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False) + "\n")
    return manifest


def read_manifest(bundle: str | Path, *, check_hashes: bool = True) -> Manifest:
    """Read and check ``bundle/manifest.json``.

    Raises :class:`BundleError` naming the problem: not a folder, no manifest, unreadable JSON,
    another format or a newer format version, a missing file, or a file whose sha256 differs from
    the recorded one (a truncated or swapped ``model.onnx``).
    """
    folder = Path(bundle)
    if not folder.is_dir():
        raise BundleError(f"bundle {str(folder)!r} is not a folder; pass the folder written by 'colbert-edge export'")
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise BundleError(
            f"bundle {str(folder)!r} has no {MANIFEST_FILE}; it was not written by 'colbert-edge export' "
            "(export the model again with 'colbert-edge export SOURCE --out BUNDLE')"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON ({exc}); re-export the bundle") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BundleError(f"{path} is not a colbert-edge bundle manifest (format {data.get('format') if isinstance(data, dict) else None!r})")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"{path} has format_version {version!r}; this colbert-edge reads version {FORMAT_VERSION}. "
            "Upgrade colbert-edge or re-export the bundle with this version."
        )
    try:
        manifest = Manifest(
            architecture=str(data["architecture"]),
            causal=bool(data["causal"]),
            dim=int(data["dim"]),
            onnx_inputs=tuple(data["onnx_inputs"]),
            onnx_output=str(data["onnx_output"]),
            precision=str(data["precision"]),
            contract=TokenContract.from_dict(data["contract"]),
            source=dict(data.get("source") or {}),
            files=dict(data["files"]),
            fingerprint=str(data["fingerprint"]),
            parity=dict(data.get("parity") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{path} is missing or has a malformed field ({exc!r}); re-export the bundle") from exc
    for name in (MODEL_FILE, TOKENIZER_FILE):
        if name not in manifest.files:
            raise BundleError(f"{path} lists no hash for {name}; re-export the bundle")
    for name in manifest.files:
        if Path(name).name != name or name.startswith("."):
            raise BundleError(f"{path} lists {name!r}, which is not a plain file name in the bundle; re-export the bundle")
        file_path = folder / name
        if not file_path.is_file():
            raise BundleError(f"bundle {str(folder)!r} is missing {name}; copy the whole bundle folder")
        if check_hashes:
            actual = sha256_file(file_path)
            expected = manifest.files[name].get("sha256")
            if actual != expected:
                raise BundleError(
                    f"{file_path} does not match its manifest (sha256 {actual[:12]}…, expected {str(expected)[:12]}…): "
                    "the file is truncated, damaged or from another export; copy the bundle again or re-export it"
                )
    return manifest

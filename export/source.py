"""Read a PyLate / sentence-transformers ColBERT folder and resolve its tokenization contract.

``load_source(SOURCE)`` accepts a local folder or a hub id. A hub id is looked up in the local
Hugging Face cache first, then downloaded; on an offline machine it fails at once with
:class:`HubUnavailable` naming the id. The folder must hold ``modules.json`` with a Transformer
module followed by one or more Dense modules (PyLate's layout); its contract values come from
``config_sentence_transformers.json`` with PyLate's defaults for missing keys (query_length 32,
document_length 180, prefixes "[Q] " / "[D] ", do_query_expansion True,
attend_to_expansion_tokens False, skiplist = string.punctuation), exactly as PyLate 1.6 resolves
them. The expansion token is the mask token, else EOS, else pad (PyLate >= 1.3.3). Prefix and
skiplist words become ids with the tokenizer's ``convert_tokens_to_ids``, as PyLate does.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from colbert_edge.errors import HubUnavailable, ModelSourceError
from colbert_edge.runtime.manifest import TokenContract

__all__ = ["DenseSpec", "ModelSource", "load_source"]

TRANSFORMER_TYPES = ("sentence_transformers.models.Transformer", "sentence_transformers.models.Transformer.Transformer")
DENSE_TYPES = ("pylate.models.Dense.Dense", "pylate.models.Dense", "sentence_transformers.models.Dense",
               "sentence_transformers.models.Dense.Dense")


@dataclass(frozen=True)
class DenseSpec:
    """One Dense module folder: ``config.json`` + weights (``model.safetensors`` or ``pytorch_model.bin``)."""

    path: Path
    in_features: int
    out_features: int
    bias: bool
    activation: str
    use_residual: bool


@dataclass(frozen=True)
class ModelSource:
    """A resolved ColBERT model folder. ``tokenizer`` is a transformers fast tokenizer."""

    folder: Path
    model_id: str
    revision: str | None
    backbone_path: Path
    dense: tuple[DenseSpec, ...]
    contract: TokenContract
    tokenizer: Any
    input_names: tuple[str, ...]


def _resolve_folder(source: str | Path, revision: str | None) -> tuple[Path, str, str | None]:
    path = Path(source).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelSourceError(f"model source {str(source)!r} is a file; pass the model folder that holds modules.json")
        return path.resolve(), str(source), revision
    text = str(source)
    if text.startswith((".", "/", "~")) or text.count("/") != 1:
        raise ModelSourceError(
            f"model source {text!r} is neither an existing folder nor a hub id of the form 'org/name'; "
            "pass a local model folder"
        )
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(text, revision=revision, local_files_only=True)
    except Exception:
        try:
            folder = snapshot_download(text, revision=revision, etag_timeout=5)
        except Exception as exc:  # huggingface_hub raises many types for network and auth failures
            raise HubUnavailable(
                f"cannot fetch {text!r} from the Hugging Face hub ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}); "
                f"this machine looks offline. Download the model elsewhere and pass its local folder instead of {text!r} "
                "(for example --model path/to/LFM2-ColBERT-350M)"
            ) from exc
    resolved_revision = revision or Path(folder).name  # the snapshot folder is named by commit hash
    return Path(folder), text, resolved_revision


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelSourceError(f"{path} is unreadable or not valid JSON ({exc})") from exc


def _read_dense(folder: Path) -> DenseSpec:
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelSourceError(f"Dense module folder {folder} has no config.json")
    config = _read_json(config_path)
    if not (folder / "model.safetensors").is_file() and not (folder / "pytorch_model.bin").is_file():
        raise ModelSourceError(f"Dense module folder {folder} has no model.safetensors or pytorch_model.bin")
    try:
        return DenseSpec(
            path=folder,
            in_features=int(config["in_features"]),
            out_features=int(config["out_features"]),
            bias=bool(config.get("bias", True)),
            activation=str(config.get("activation_function", "torch.nn.modules.linear.Identity")),
            use_residual=bool(config.get("use_residual", False)),
        )
    except KeyError as exc:
        raise ModelSourceError(f"{config_path} lacks {exc.args[0]!r}") from exc


def _token_id(tokenizer: Any, token: str, what: str) -> int:
    token_id = tokenizer.convert_tokens_to_ids(token)
    if token_id is None or (tokenizer.unk_token_id is not None and token_id == tokenizer.unk_token_id):
        raise ModelSourceError(
            f"the {what} {token!r} is not a token of the model's tokenizer; PyLate would add it with an untrained "
            "embedding. Pass a trained PyLate ColBERT folder (its tokenizer carries the prefix tokens)"
        )
    return int(token_id)


def _expansion_token(tokenizer: Any) -> int:
    for token_id in (tokenizer.mask_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id):
        if token_id is not None:
            return int(token_id)
    raise ModelSourceError("the tokenizer has no mask, EOS or pad token to use for query expansion (PyLate refuses it too)")


def _resolve_contract(config: dict[str, Any], tokenizer: Any, lowercase: bool) -> TokenContract:
    query_prefix = config.get("query_prefix")
    document_prefix = config.get("document_prefix")
    query_prefix = "[Q] " if query_prefix is None else query_prefix
    document_prefix = "[D] " if document_prefix is None else document_prefix
    skip_words = config.get("skiplist_words")
    skip_words = list(string.punctuation) if skip_words is None else skip_words
    skiplist = sorted({int(i) for i in tokenizer.convert_tokens_to_ids(list(skip_words)) if i is not None})
    expansion = config.get("do_query_expansion")
    expansion = True if expansion is None else bool(expansion)
    attend = config.get("attend_to_expansion_tokens")
    attend = False if attend is None else bool(attend)
    return TokenContract(
        query_prefix_id=_token_id(tokenizer, query_prefix, "query prefix") if query_prefix else None,
        document_prefix_id=_token_id(tokenizer, document_prefix, "document prefix") if document_prefix else None,
        query_length=int(config.get("query_length") or 32),
        document_length=int(config.get("document_length") or 180),
        do_query_expansion=expansion,
        expansion_token_id=_expansion_token(tokenizer),
        attend_to_expansion_tokens=attend and expansion,
        skiplist_ids=tuple(skiplist),
        lowercase=lowercase,
    )


def load_source(source: str | Path, revision: str | None = None) -> ModelSource:
    """Resolve ``source`` (folder or hub id) into a :class:`ModelSource`; raise ModelSourceError if it is not a ColBERT."""
    folder, model_id, revision = _resolve_folder(source, revision)
    modules_path = folder / "modules.json"
    if not modules_path.is_file():
        raise ModelSourceError(
            f"{str(folder)!r} is not a PyLate ColBERT model: it has no modules.json "
            "(expected the sentence-transformers layout PyLate saves: modules.json, a Transformer, a Dense folder)"
        )
    modules = sorted(_read_json(modules_path), key=lambda m: m.get("idx", 0))
    if not modules or modules[0].get("type") not in TRANSFORMER_TYPES:
        raise ModelSourceError(f"{modules_path}: the first module must be a sentence-transformers Transformer, got {modules[:1]}")
    others = [m.get("type") for m in modules[1:]]
    if not others or any(t not in DENSE_TYPES for t in others):
        raise ModelSourceError(
            f"{str(folder)!r} is not a ColBERT model: after the Transformer it has {others or 'nothing'}, "
            "expected one or more Dense projections (a Pooling module means a single-vector sentence model)"
        )
    backbone = folder / modules[0].get("path", "")
    dense = tuple(_read_dense(folder / m["path"]) for m in modules[1:])
    st_config_path = backbone / "sentence_bert_config.json"
    st_config = _read_json(st_config_path) if st_config_path.is_file() else {}
    config_path = folder / "config_sentence_transformers.json"
    config = _read_json(config_path) if config_path.is_file() else {}
    if not (backbone / "config.json").is_file():
        raise ModelSourceError(f"{str(backbone)!r} has no config.json for the Transformer backbone")
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(backbone), local_files_only=True)
    except Exception as exc:  # transformers raises OSError/ValueError/... for unreadable tokenizers
        raise ModelSourceError(f"cannot load the tokenizer in {str(backbone)!r} ({exc})") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ModelSourceError(f"the tokenizer in {str(backbone)!r} has no tokenizer.json (fast tokenizer); the runtime needs one")
    contract = _resolve_contract(config, tokenizer, bool(st_config.get("do_lower_case", False)))
    return ModelSource(
        folder=folder,
        model_id=model_id,
        revision=revision,
        backbone_path=backbone,
        dense=dense,
        contract=contract,
        tokenizer=tokenizer,
        input_names=tuple(tokenizer.model_input_names),
    )

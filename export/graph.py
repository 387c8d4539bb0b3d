"""The PyTorch reference graph: backbone -> Dense projection(s) -> L2 normalisation.

``ColbertGraph(input_ids, attention_mask[, token_type_ids]) -> (batch, seq, dim)`` float32, every
position L2-normalised; the caller keeps the positions the contract keeps. This module is both the
reference the ONNX graph is verified against and the module that is exported.

LFM2 (``Lfm2Model``, causal) runs with the semantics it was trained with under transformers
4.56/4.57: attention layers see the causal mask combined with the padding mask; the short
convolutions see the padded positions' states unchanged. transformers 5.x multiplies those states by
the 2D mask before the convolutions (for batch > 1), which changes every query-expansion vector and
makes a query's vectors depend on its batch; :class:`Lfm2Backbone` walks the decoder layers itself,
giving convolution layers no mask, and builds the additive attention mask with plain ops (which
also keeps the ONNX export free of transformers' mask helpers). Any other supported backbone
(BERT family) runs its own forward: its padding is masked in attention and never leaks.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from colbert_edge.errors import DimensionMismatch, UnsupportedArchitecture
from colbert_edge.export.source import DenseSpec, ModelSource

__all__ = ["ColbertGraph", "Lfm2Backbone", "ENCODER_TYPES", "build_graph"]

ENCODER_TYPES = ("bert", "roberta", "xlm-roberta", "distilbert", "electra")
"""Bidirectional encoders run through their own transformers forward (only "bert" is tested here)."""

ACTIVATIONS = {
    "torch.nn.modules.linear.Identity": nn.Identity,
    "torch.nn.modules.activation.Tanh": nn.Tanh,
    "torch.nn.modules.activation.ReLU": nn.ReLU,
    "torch.nn.modules.activation.GELU": nn.GELU,
    "torch.nn.modules.activation.Sigmoid": nn.Sigmoid,
}


class Lfm2Backbone(nn.Module):
    """LFM2 decoder with transformers-4.57 padding semantics (see the module docstring).

    ``conv_masking=True`` reproduces transformers 5.x instead (pad states zeroed before the short
    convolutions): it exists only so tests can show the parity check catches that difference.
    """

    def __init__(self, model: nn.Module, conv_masking: bool = False) -> None:
        super().__init__()
        self.model = model
        self.conv_masking = conv_masking

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        m = self.model
        hidden = m.embed_tokens(input_ids)  # (B, T, H)
        seq = input_ids.shape[1]
        positions = torch.arange(seq, device=input_ids.device).unsqueeze(0)  # (1, T)
        causal = positions.transpose(0, 1) >= positions  # (T, T): query i sees key j <= i
        allowed = causal.unsqueeze(0) & attention_mask.bool().unsqueeze(1)  # (B, T, T)
        neg = torch.finfo(hidden.dtype).min
        attn_mask = torch.zeros(allowed.shape, dtype=hidden.dtype, device=hidden.device).masked_fill(~allowed, neg)
        attn_mask = attn_mask.unsqueeze(1)  # (B, 1, T, T) additive
        position_embeddings = m.rotary_emb(hidden, position_ids=positions)
        conv_mask = attention_mask if self.conv_masking else None
        for layer in m.layers[: m.config.num_hidden_layers]:
            hidden = layer(
                hidden,
                attention_mask=attn_mask if layer.is_attention_layer else conv_mask,
                position_embeddings=position_embeddings,
                position_ids=positions,
            )
        return m.embedding_norm(hidden)  # (B, T, H)


class _EncoderBackbone(nn.Module):
    def __init__(self, model: nn.Module, takes_token_types: bool) -> None:
        super().__init__()
        self.model = model
        self.takes_token_types = takes_token_types

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        kwargs = {"token_type_ids": token_type_ids} if self.takes_token_types else {}
        return self.model(input_ids=input_ids, attention_mask=attention_mask, **kwargs).last_hidden_state


class ColbertGraph(nn.Module):
    """Backbone + Dense stack + L2 normalisation; returns (batch, seq, dim) for every position."""

    def __init__(self, backbone: nn.Module, dense: nn.ModuleList, takes_token_types: bool) -> None:
        super().__init__()
        self.backbone = backbone
        self.dense = dense
        self.takes_token_types = takes_token_types

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        if self.takes_token_types:
            hidden = self.backbone(input_ids, attention_mask, token_type_ids)
        else:
            hidden = self.backbone(input_ids, attention_mask)  # (B, T, H)
        for layer in self.dense:
            hidden = layer(hidden)  # (B, T, out)
        return nn.functional.normalize(hidden, p=2, dim=-1)


class _Dense(nn.Module):
    """PyLate's Dense: activation(linear(x)) [+ residual(x) or x]."""

    def __init__(self, spec: DenseSpec) -> None:
        super().__init__()
        if spec.activation not in ACTIVATIONS:
            raise UnsupportedArchitecture(
                f"Dense activation {spec.activation!r} in {spec.path} is not supported; known: {sorted(ACTIVATIONS)}"
            )
        self.linear = nn.Linear(spec.in_features, spec.out_features, bias=spec.bias)
        self.activation = ACTIVATIONS[spec.activation]()
        self.use_residual = spec.use_residual
        if spec.use_residual and spec.in_features != spec.out_features:
            self.residual = nn.Linear(spec.in_features, spec.out_features, bias=False)
        state = _load_state(spec.path)
        state = {k: v for k, v in state.items() if k.startswith(("linear.", "residual."))}
        missing, unexpected = self.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise DimensionMismatch(f"Dense weights in {spec.path} do not fit its config.json (missing {missing}, unexpected {unexpected})")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.activation(self.linear(x))
        if self.use_residual:
            out = out + (self.residual(x) if hasattr(self, "residual") else x)
        return out


def _load_state(folder: Path) -> dict[str, torch.Tensor]:
    if (folder / "model.safetensors").is_file():
        from safetensors.torch import load_file

        return load_file(str(folder / "model.safetensors"))
    return torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)


def build_graph(source: ModelSource, *, conv_masking: bool = False) -> tuple[ColbertGraph, str, bool]:
    """Load the backbone and Dense modules of ``source`` -> (graph in eval mode, model_type, causal)."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(str(source.backbone_path), local_files_only=True)
    model_type = config.model_type
    if model_type != "lfm2" and model_type not in ENCODER_TYPES:
        raise UnsupportedArchitecture(
            f"backbone architecture {model_type!r} ({config.architectures}) is not supported; "
            f"supported: lfm2 (causal) and the encoders {list(ENCODER_TYPES)}"
        )
    config._attn_implementation = "eager"
    model = AutoModel.from_pretrained(str(source.backbone_path), config=config, local_files_only=True, dtype=torch.float32)
    model.eval()
    hidden = config.hidden_size
    previous = hidden
    for spec in source.dense:
        if spec.in_features != previous:
            raise DimensionMismatch(
                f"Dense module {spec.path.name} expects {spec.in_features} input features but receives {previous} "
                f"(backbone hidden size {hidden}); the Dense folder does not belong to this backbone"
            )
        previous = spec.out_features
    dense = nn.ModuleList(_Dense(spec) for spec in source.dense)
    takes_token_types = "token_type_ids" in source.input_names
    if model_type == "lfm2":
        if takes_token_types:
            raise UnsupportedArchitecture("an LFM2 tokenizer that asks for token_type_ids is not supported")
        backbone: nn.Module = Lfm2Backbone(model, conv_masking=conv_masking)
        causal = True
    else:
        backbone = _EncoderBackbone(model, takes_token_types)
        causal = False
    graph = ColbertGraph(backbone, dense, takes_token_types).eval()
    return graph, model_type, causal

"""The tokenization contract, in one place: text -> input ids, attention mask, kept positions.

This module is the only place that knows PyLate's token logic (shared/DESIGN.md, "Contracts that
must hold exactly"). The exporter uses it to build the PyTorch reference's inputs, the runtime to
build the ONNX graph's inputs, so both see the same ids by construction.

Query:    strip (lower-case if the model does) -> tokenize with the model's special tokens,
          truncated to query_length - 1 -> right-pad to query_length - 1 with the expansion token
          (attention 0; only when do_query_expansion, otherwise to the batch's longest) -> insert
          the query-prefix id at position 1 (attention 1) -> attention 1 everywhere if
          attend_to_expansion_tokens -> keep every position (all query_length vectors) when
          expanding, else the attended ones.
Document: strip -> tokenize truncated to document_length - 1 -> right-pad to the batch's longest
          with the expansion token (attention 0) -> insert the document-prefix id at position 1 ->
          keep positions with attention 1 whose id is not in the skiplist.

A model without a prefix (PyLate's empty prefix) keeps the full length budget and inserts nothing.
Text that Python holds but UTF-8 cannot encode (lone surrogates) has those code points replaced
by U+FFFD before tokenizing; anything that is not a ``str`` raises :class:`InvalidText`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from colbert_edge.errors import BundleError, InvalidText
from colbert_edge.runtime.manifest import TokenContract

__all__ = ["TokenBatch", "ContractTokenizer", "clean_text"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class TokenBatch:
    """Model inputs for one right-padded batch.

    input_ids:      (batch, seq) int64
    attention_mask: (batch, seq) int64, 1 = attended
    keep:           (batch, seq) bool, positions whose vectors are returned
    """

    input_ids: IntArray
    attention_mask: IntArray
    keep: BoolArray

    def feeds(self, input_names: Sequence[str]) -> dict[str, IntArray]:
        """The graph's inputs by name (``token_type_ids`` are zeros); BundleError for an unknown name."""
        known = {"input_ids": self.input_ids, "attention_mask": self.attention_mask}
        feeds = {}
        for name in input_names:
            if name == "token_type_ids":
                feeds[name] = np.zeros_like(self.input_ids)
            elif name in known:
                feeds[name] = known[name]
            else:
                raise BundleError(f"graph input {name!r} is not one the runtime can feed; re-export the bundle")
        return feeds


def clean_text(text: object, position: int | None = None, *, strip: bool = True) -> str:
    """Return ``text`` UTF-8-safe (and stripped); raise InvalidText if it is not a string."""
    if not isinstance(text, str):
        where = f" at position {position}" if position is not None else ""
        raise InvalidText(
            f"expected text (str){where}, got {type(text).__name__} {text!r:.60}; convert it with str() first"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates: valid pairs are kept, lone halves become U+FFFD.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text.strip() if strip else text


class ContractTokenizer:
    """A ``tokenizers.Tokenizer`` plus the :class:`TokenContract` of one model."""

    def __init__(self, tokenizer: Tokenizer, contract: TokenContract) -> None:
        self.contract = contract
        self._tokenizer = tokenizer
        self._tokenizer.no_padding()
        self._skip = np.asarray(sorted(set(contract.skiplist_ids)), dtype=np.int64)

    @classmethod
    def from_file(cls, path: str | Path, contract: TokenContract) -> "ContractTokenizer":
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception on a bad file
            raise BundleError(f"{path} is not a readable tokenizer.json ({exc}); re-export the bundle") from exc
        return cls(tokenizer, contract)

    def _budget(self, is_query: bool) -> int:
        """Tokens the tokenizer may produce before the prefix is inserted."""
        c = self.contract
        length = c.query_length if is_query else c.document_length
        prefix = c.query_prefix_id if is_query else c.document_prefix_id
        return length - 1 if prefix is not None else length

    def token_ids(self, texts: Sequence[str], *, is_query: bool) -> list[list[int]]:
        """Ids per text after cleaning and truncation, before padding and prefix insertion."""
        cleaned = [clean_text(t, i) for i, t in enumerate(texts)]
        if self.contract.lowercase:
            cleaned = [t.lower() for t in cleaned]
        self._tokenizer.enable_truncation(max_length=self._budget(is_query))
        return [enc.ids for enc in self._tokenizer.encode_batch(cleaned, add_special_tokens=True)]

    def n_tokens(self, text: str, *, is_query: bool = False) -> int:
        """How many vectors' worth of positions ``text`` occupies (prefix included, before skiplist)."""
        ids = self.token_ids([text], is_query=is_query)[0]
        prefix = self.contract.query_prefix_id if is_query else self.contract.document_prefix_id
        return len(ids) + (prefix is not None)

    def content_budget(self) -> int:
        """Content tokens a document may hold before truncation (special tokens and prefix excluded)."""
        return self._budget(False) - self._tokenizer.num_special_tokens_to_add(False)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans ``(start, end)`` in ``text`` of its content tokens (no special tokens,
        no truncation), for splitting long text into passages that fit :meth:`content_budget`."""
        self._tokenizer.no_truncation()
        encoding = self._tokenizer.encode(clean_text(text, strip=False), add_special_tokens=False)
        return list(encoding.offsets)

    def kept_spans(self, text: str) -> list[tuple[int, int] | None]:
        """For each vector ``encode_documents([text])`` returns, the character span in ``text`` of
        its token, or None for special tokens and the prefix (highlighting reads this)."""
        raw = clean_text(text, strip=False)
        shift = len(raw) - len(raw.lstrip())
        cleaned = raw.strip()
        if self.contract.lowercase:
            cleaned = cleaned.lower()
        self._tokenizer.enable_truncation(max_length=self._budget(False))
        encoding = self._tokenizer.encode(cleaned, add_special_tokens=True)
        spans: list[tuple[int, int] | None] = [
            None if special else (start + shift, end + shift)
            for (start, end), special in zip(encoding.offsets, encoding.special_tokens_mask)
        ]
        if self.contract.document_prefix_id is not None:
            spans.insert(min(self.contract.prefix_position, len(spans)), None)
        keep = self.batch([encoding.ids], is_query=False).keep[0]
        return [span for span, kept in zip(spans, keep) if kept]

    def batch(self, ids: Sequence[Sequence[int]], *, is_query: bool) -> TokenBatch:
        """Pad, insert the prefix and build masks for token lists from :meth:`token_ids`."""
        c = self.contract
        if is_query and c.do_query_expansion:
            width = self._budget(True)
        else:
            width = max((len(x) for x in ids), default=0)
        n = len(ids)
        input_ids = np.full((n, width), c.expansion_token_id, dtype=np.int64)  # (n, width)
        mask = np.zeros((n, width), dtype=np.int64)
        for row, seq in enumerate(ids):
            input_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        prefix = c.query_prefix_id if is_query else c.document_prefix_id
        if prefix is not None:
            at = min(c.prefix_position, width)
            input_ids = np.insert(input_ids, at, prefix, axis=1)  # (n, width + 1)
            mask = np.insert(mask, at, 1, axis=1)
        if is_query:
            keep = np.ones_like(mask, dtype=bool) if c.do_query_expansion else mask.astype(bool)
            if c.attend_to_expansion_tokens:
                mask = np.ones_like(mask)
        else:
            keep = mask.astype(bool) & ~np.isin(input_ids, self._skip)
        return TokenBatch(input_ids=input_ids, attention_mask=mask, keep=keep)

    def encode(self, texts: Sequence[str], *, is_query: bool) -> TokenBatch:
        """:meth:`token_ids` then :meth:`batch`: one padded batch for ``texts``."""
        return self.batch(self.token_ids(texts, is_query=is_query), is_query=is_query)

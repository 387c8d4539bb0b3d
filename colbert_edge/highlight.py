"""Matched terms and snippets from the MaxSim alignment.

MaxSim pairs every query token with the document token it scores best against; those document
tokens are what matched. :func:`matched_spans` turns that alignment into character spans of the
passage (widened to whole words in scripts that separate words), :func:`make_snippet` cuts a
window of the passage around the densest matches.

>>> import numpy as np
>>> q = np.array([[1, 0], [0, 1]], dtype=np.float32)            # 2 query tokens
>>> d = np.array([[0, 1], [1, 0], [0.6, 0.8]], dtype=np.float32)  # 3 document tokens
>>> matched_spans(q, d, [(0, 3), (4, 7), (8, 11)], "cat dog owl")   # q0 -> token 1, q1 -> token 0
[(0, 3), (4, 7)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Snippet", "matched_spans", "make_snippet"]

_WORD = re.compile(r"\w", re.UNICODE)
_SPACED = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass(frozen=True)
class Snippet:
    """A window of a passage: ``text`` and ``highlights`` as (start, end) offsets into ``text``."""

    text: str
    highlights: tuple[tuple[int, int], ...]

    def render(self, before: str = "[", after: str = "]") -> str:
        """The snippet with each highlight wrapped in ``before``/``after``."""
        out, last = [], 0
        for start, end in self.highlights:
            out += [self.text[last:start], before, self.text[start:end], after]
            last = end
        out.append(self.text[last:])
        return "".join(out)


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow a span to the enclosing word when the script separates words with spaces."""
    while start < end and text[start].isspace():
        start += 1
    if start >= end or not _SPACED.match(text[start]) or ord(text[start]) >= 0x2E80:  # CJK and later: no widening
        return start, end
    while start > 0 and _WORD.match(text[start - 1]) and ord(text[start - 1]) < 0x2E80:
        start -= 1
    while end < len(text) and _WORD.match(text[end]) and ord(text[end]) < 0x2E80:
        end += 1
    return start, end


def matched_spans(
    query: npt.NDArray[np.float32],
    document: npt.NDArray[np.float32],
    spans: list[tuple[int, int] | None],
    text: str,
) -> list[tuple[int, int]]:
    """Character spans of the document tokens the query tokens matched, merged and sorted.

    query: (q, dim) float32; document: (n, dim) float32, row i has span ``spans[i]`` in ``text``
    (None for special and prefix tokens, which are never highlighted).
    """
    if len(document) == 0 or len(spans) != len(document):
        return []
    best = np.argmax(query @ document.T, axis=1)  # (q,) best document token per query token
    picked = sorted({_widen(text, *spans[j]) for j in set(best.tolist()) if spans[j] is not None})
    merged: list[tuple[int, int]] = []
    for start, end in picked:
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def make_snippet(text: str, spans: list[tuple[int, int]], width: int = 240) -> Snippet:
    """The ``width``-character window of ``text`` covering the most highlighted characters."""
    if len(text) <= width:
        start = 0
    elif not spans:
        start = 0
    else:
        best, start = -1, 0
        for anchor, _ in spans:
            lo = max(0, min(anchor - width // 4, len(text) - width))
            covered = sum(max(0, min(e, lo + width) - max(s, lo)) for s, e in spans)
            if covered > best:
                best, start = covered, lo
    end = min(len(text), start + width)
    window = text[start:end]
    lead = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    shift = len(lead) - start
    highlights = tuple(
        (max(s, start) + shift, min(e, end) + shift) for s, e in spans if s < end and e > start
    )
    return Snippet(text=lead + window.replace("\n", " ") + tail, highlights=highlights)

"""Split a long text into passages that each fit the encoder's document budget.

Contract of :func:`split_passages` (``text``, its token ``spans``, ``budget``, ``overlap``):

- ``spans`` are the character spans ``(start, end)`` of the text's content tokens, in order, as
  ``ContractTokenizer.token_spans(text)`` gives them; ``budget`` is
  ``ContractTokenizer.content_budget()``. Token counts below are counts of these spans.
- A text with at most ``budget`` tokens (including the empty text and a text with no tokens at all)
  gives exactly one passage, equal to the text: ``Passage(text, 0, len(text), 0)``. Callers that do
  not want blank passages filter ``passage.text.strip()``.
- Otherwise windows of consecutive tokens: each holds at most ``budget`` tokens, and each window
  after the first starts ``overlap`` tokens before the end of the previous one, so consecutive
  passages share exactly ``overlap`` tokens.
- A window prefers to end at a paragraph break (a blank line), then at a sentence or line end
  (``. ! ? 。 ！ ？ ؟ । …`` or a newline, closing quotes/brackets allowed after the mark), found in
  its last ~20% (but always after more than ``overlap`` tokens, so every window makes progress);
  else it ends at the last token that fits.
- Text is never cut inside a token. Tokens that share characters (byte-level pieces of one emoji
  or CJK character) are never separated; where that forces it, a window holds fewer tokens and the
  overlap differs from ``overlap`` by those few tokens. Only a single character worth more than
  ``budget`` tokens (no real tokenizer at a real budget) makes a window exceed ``budget``.
- Offsets are into the original text: ``passage.text == text[passage.start:passage.end]``. The
  first passage starts at 0 and the last ends at ``len(text)``; an inner passage runs from its
  first token's start to its last token's end. Every token lies inside some passage.
- Pure and deterministic: same input, same passages.

Bad arguments (budget < 1, overlap outside ``[0, budget)``, spans out of order or outside the
text) raise :class:`~colbert_edge.errors.InvalidArgument`.

Re-tokenizing a passage on its own normally gives the same tokens; a tokenizer whose merges cross
the cut (rare) may give one or two more, so keep a small margin in ``budget`` if that matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from colbert_edge.errors import InvalidArgument, InvalidText

__all__ = ["Passage", "split_passages"]

#: Characters that end a sentence (Latin, CJK full-width, Arabic, Devanagari, ellipsis).
SENTENCE_ENDS = frozenset(".!?。！？؟।…")
#: Characters that may follow a sentence end and still belong to it.
CLOSERS = frozenset("\"')]}»”’」』）〕】›")
_PARAGRAPH = re.compile(r"(?:\r?\n|\r)[ \t\f\v]*(?:\r?\n|\r)")
#: Fraction of a window, at its end, searched for a sentence or paragraph break.
TAIL_FRACTION = 0.2


@dataclass(frozen=True)
class Passage:
    """One window of a text: ``text == original[start:end]``; ``index`` counts from 0."""

    text: str
    start: int
    end: int
    index: int


def _check(text: object, spans: Sequence[tuple[int, int]], budget: int, overlap: int) -> None:
    if not isinstance(text, str):
        raise InvalidText(f"split_passages expects text (str), got {type(text).__name__}")
    if not isinstance(budget, int) or budget < 1:
        raise InvalidArgument(f"budget={budget!r} must be an int >= 1 (use ContractTokenizer.content_budget())")
    if not isinstance(overlap, int) or not 0 <= overlap < budget:
        raise InvalidArgument(f"overlap={overlap!r} must be an int with 0 <= overlap < budget ({budget})")
    previous = 0
    for i, span in enumerate(spans):
        try:
            start, end = span
        except (TypeError, ValueError):
            raise InvalidArgument(f"spans[{i}]={span!r} is not a (start, end) pair") from None
        if not (0 <= start <= end <= len(text)):
            raise InvalidArgument(
                f"spans[{i}]=({start}, {end}) lies outside the text (length {len(text)}); "
                "pass the spans of this very text (ContractTokenizer.token_spans(text))"
            )
        if start < previous:
            raise InvalidArgument(
                f"spans[{i}] starts at {start}, before spans[{i - 1}] ({previous}); spans must be in order"
            )
        previous = start


def _break_strength(text: str, last_start: int, next_start: int) -> int:
    """2 = paragraph break, 1 = sentence or line end, 0 = plain token boundary.

    Looks at the last token before the cut and the gap up to the next token:
    ``text[last_start:next_start]``.
    """
    piece = text[last_start:next_start]
    trail = piece[len(piece.rstrip()) :]  # the whitespace that ends the piece
    if _PARAGRAPH.search(trail):
        return 2
    if "\n" in trail or "\r" in trail:
        return 1
    tail = piece.rstrip(" \t\f\v\u3000")
    tail = tail.rstrip("".join(CLOSERS)) or tail
    return 1 if tail and tail[-1] in SENTENCE_ENDS else 0


def split_passages(text: str, spans: Sequence[tuple[int, int]], budget: int, overlap: int) -> list[Passage]:
    """Windows of at most ``budget`` tokens of ``text``, overlapping by ``overlap`` tokens.

    >>> text = "One two. Three four. Five"
    >>> spans = [(0, 3), (4, 7), (7, 8), (9, 14), (15, 19), (19, 20), (21, 25)]
    >>> [p.text for p in split_passages(text, spans, budget=4, overlap=1)]
    ['One two.', '. Three four.', '. Five']
    >>> [p.text for p in split_passages("short", [(0, 5)], budget=4, overlap=1)]
    ['short']
    """
    _check(text, spans, budget, overlap)
    n = len(spans)
    if n <= budget:
        return [Passage(text, 0, len(text), 0)]
    # reach[i] = furthest character any of tokens 0..i covers.
    reach: list[int] = []
    far = 0
    for _, end in spans:
        far = max(far, end)
        reach.append(far)
    # cut k (1 <= k < n) is allowed when no token before k overlaps token k.
    allowed = [False] * (n + 1)
    allowed[0] = allowed[n] = True
    strength = [0] * (n + 1)
    for k in range(1, n):
        if reach[k - 1] <= spans[k][0]:
            allowed[k] = True
            strength[k] = _break_strength(text, spans[k - 1][0], spans[k][0])

    windows: list[tuple[int, int]] = []
    first = done = 0  # window start; tokens before `done` are in some passage already
    while True:
        if n - first <= budget:
            windows.append((first, n))
            break
        limit = first + budget
        lowest = max(first + overlap + 1, done + 1)  # leave the next window room to progress
        tail = max(lowest, limit - max(1, int(budget * TAIL_FRACTION)))
        cut = -1
        best = 0
        for k in range(limit, tail - 1, -1):  # latest strongest break in the tail
            if allowed[k] and strength[k] > best:
                cut, best = k, strength[k]
        if cut < 0:  # no break: the last token boundary that fits and adds tokens
            cut = next((k for k in range(limit, done, -1) if allowed[k]), -1)
        if cut < 0:  # one character worth more tokens than the window: take it whole
            cut = next(k for k in range(limit + 1, n + 1) if allowed[k])
        windows.append((first, cut))
        if cut == n:
            break
        nxt = cut - overlap
        while nxt > first + 1 and not allowed[nxt]:
            nxt -= 1  # grow the overlap rather than split a character
        # the first allowed start from which the next window can reach past `cut`
        nxt = next(
            (
                k
                for k in range(max(nxt, first + 1), cut)
                if allowed[k] and any(allowed[j] for j in range(cut + 1, min(k + budget, n) + 1))
            ),
            cut,
        )
        first, done = nxt, cut

    passages = []
    for index, (a, b) in enumerate(windows):
        start = 0 if a == 0 else spans[a][0]
        end = len(text) if b == n else reach[b - 1]
        passages.append(Passage(text[start:end], start, end, index))
    return passages

"""Notes: bytes -> text, and light markup -> plain searchable text.

Contract:

- :func:`decode_text` turns bytes into ``str`` and never fails: a declared charset first (mail),
  then UTF-8 (a BOM is dropped), UTF-16 when a BOM says so, then cp1252, then latin-1.
  Line ends become ``"\\n"``.
- :func:`looks_binary` says whether bytes are not text (NUL bytes without a UTF-16 BOM, or more
  than 5% control characters once decoded).
- :func:`note_text` reduces one note's markup to plain text and picks its title:
  Markdown (``.md``, ``.markdown``), Org (``.org``), reStructuredText (``.rst``), HTML
  (``.html``, ``.htm``) or plain text (``.txt``). Heading markers, emphasis, link targets and
  markup-only lines are dropped; link texts, list items, table cells and the inside of code blocks
  are kept as text. The title is the first heading (Markdown/Org/RST/HTML ``<title>``/``<h1..6>``),
  an Org ``#+TITLE:`` or a front-matter ``title:``; otherwise ``None`` (the caller uses the stem).
- :func:`html_to_text` drops ``script``/``style``/``head`` content and tags, decodes entities,
  and keeps block structure as paragraph breaks.

This is a reduction for search, not a renderer: nested or unusual markup may leave a stray mark.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from html.parser import HTMLParser

__all__ = ["NOTE_SUFFIXES", "NoteText", "decode_text", "looks_binary", "note_text", "html_to_text"]

NOTE_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".org", ".rst", ".html", ".htm"})


@dataclass(frozen=True)
class NoteText:
    """A note's plain text and its title (``None`` when the note has no heading)."""

    title: str | None
    text: str


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_text(raw: bytes, declared: str | None = None) -> str:
    """Decode ``raw`` (never raises): declared charset, UTF-8/UTF-16 BOMs, UTF-8, cp1252, latin-1."""
    if raw.startswith(codecs.BOM_UTF8):
        return _newlines(raw[3:].decode("utf-8", "replace"))
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _newlines(raw.decode("utf-16", "replace"))
    candidates = []
    if declared:
        try:
            candidates.append(codecs.lookup(declared.strip().strip('"')).name)
        except (LookupError, ValueError):
            pass  # unknown or bogus charset name: the fallbacks below decide
    candidates += ["utf-8", "cp1252"]
    for charset in candidates:
        try:
            return _newlines(raw.decode(charset))
        except (UnicodeDecodeError, LookupError):
            continue
    return _newlines(raw.decode("latin-1"))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def looks_binary(raw: bytes) -> bool:
    """True for bytes that are not a text file (see module docstring)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in raw:
        return True
    sample = decode_text(raw[:65536])
    return len(_CONTROL.findall(sample)) > 0.05 * max(len(sample), 1)


# ---- HTML ------------------------------------------------------------------------------------

_BLOCK = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer form h1 h2 h3 "
    "h4 h5 h6 header hr li main nav ol p pre section table td th tr ul".split()
)
_SKIP = frozenset({"script", "style", "head", "noscript", "template", "svg"})


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skip = 0
        self.pre = 0
        self.title: str | None = None
        self.heading: str | None = None
        self._in: str | None = None  # "title" or a heading tag being collected
        self._collected: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and self.title is None:
            self._in, self._collected = "title", []
        elif tag in _SKIP:
            self.skip += 1
        if tag in _BLOCK:
            self.chunks.append("\n")
        if tag == "pre":
            self.pre += 1
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and self.heading is None and self._in is None:
            self._in, self._collected = tag, []
        if tag in ("td", "th"):
            self.chunks.append(" ")
        if tag == "img":
            alt = dict(attrs).get("alt")
            if alt and not self.skip:
                self.chunks.append(f" {alt} ")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            found = " ".join("".join(self._collected).split()) or None
            if tag == "title":
                self.title = found
            else:
                self.heading = found
            self._in = None
        elif tag in _SKIP and self.skip:
            self.skip -= 1
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag in _BLOCK:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._collected.append(data)
            if self._in == "title":
                return
        if self.skip:
            return
        self.chunks.append(data if self.pre else re.sub(r"[ \t\r\n\f\v]+", " ", data))


def _html(html: str) -> _HtmlText:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return parser


def _tidy(text: str, dedent: bool = False) -> str:
    """Trim each line's trailing spaces, collapse 3+ newlines to one blank line, strip the ends."""
    text = re.sub(r"[ \t\u00a0]+\n", "\n", _newlines(text).replace("\u00a0", " "))
    if dedent:
        text = re.sub(r"\n[ \t]+(?=\S)", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def html_to_text(html: str) -> str:
    """Visible text of an HTML document or fragment (see module docstring)."""
    return _tidy("".join(_html(html).chunks), dedent=True)


# ---- Markdown / Org / RST ---------------------------------------------------------------------

def _apply(rules: list[tuple[re.Pattern[str], str]], line: str) -> str:
    """Apply inline markup rules (pattern -> replacement) to one line, in order."""
    for pattern, repl in rules:
        line = pattern.sub(repl, line)
    return line


_MD_INLINE = [
    (re.compile(r"!\[([^\]]{0,500})\]\([^)\s]{0,1000}+\)"), r"\1"),  # image -> alt
    (re.compile(r"\[\[([^\]|]{1,500})\|([^\]]{1,500})\]\]"), r"\2"),  # [[Page|alias]]
    (re.compile(r"\[\[([^\]]{1,500})\]\]"), r"\1"),  # [[Page]]
    (re.compile(r"\[([^\]]{1,500})\]\([^)\s]{0,1000}+(?:\s[^)]{0,500}+)?\)"), r"\1"),  # [text](url)
    (re.compile(r"\[([^\]]{1,500})\]\[[^\]]{0,500}\]"), r"\1"),  # [text][ref]
    (re.compile(r"<((?:https?|mailto|ftp):[^>\s]+)>"), r"\1"),  # autolink
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),  # inline html tags
    (re.compile(r"(`+)(.{1,500}?)\1"), r"\2"),  # inline code
    (re.compile(r"(\*\*|__)(?=\S)(.{1,500}?)(?<=\S)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])\*(?=\S)(.{1,500}?)(?<=\S)\*(?![\w*])"), r"\1"),  # *em*
    (re.compile(r"(?<![\w_])_(?=\S)(.{1,500}?)(?<=\S)_(?![\w_])"), r"\1"),  # _em_ (not snake_case)
    (re.compile(r"~~(?=\S)(.{1,500}?)(?<=\S)~~"), r"\1"),  # strikethrough
]
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?")
_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+")


def _markdown(text: str) -> NoteText:
    lines = text.split("\n")
    title: str | None = None
    out: list[str] = []
    if lines and lines[0].strip() == "---" and "---" in (x.strip() for x in lines[1:]):
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        for line in lines[1:end]:  # front matter: keep its values as text (tags, aliases)
            m = re.match(r"\s*title\s*:\s*(.+)", line)
            if m and title is None:
                title = m.group(1).strip().strip("'\"") or None
            out.append(line)
        lines = lines[end + 1 :]
    heading: str | None = None
    fenced: str | None = None
    for i, line in enumerate(lines):
        if fenced is not None:
            if line.strip().startswith(fenced):
                fenced = None
            else:
                out.append(line)
            continue
        m = _FENCE.match(line)
        if m:
            fenced = m.group(1)[0] * 3
            continue
        m = _ATX.match(line)
        if m:
            line = m.group(2)
            heading = heading or _apply(_MD_INLINE, line).strip() or None
        elif re.match(r"^\s*(=+|-+)\s*$", line) and i and lines[i - 1].strip() and out:
            if line.strip().startswith("=") or not _LIST.match(lines[i - 1]):
                heading = heading or out[-1].strip() or None  # setext heading underline
                continue
        if _RULE.match(line) or _TABLE_SEP.match(line) and "|" in line or _REF_DEF.match(line):
            continue
        line = re.sub(r"^\s{0,3}(?:>\s?)+", "", line)  # blockquote
        line = _LIST.sub(r"\1", line)
        if line.count("|") >= 2:
            line = " ".join(cell.strip() for cell in line.strip().strip("|").split("|"))
        out.append(_apply(_MD_INLINE, line))
    return NoteText(heading or title, _tidy("\n".join(out)))


_ORG_INLINE = [
    (re.compile(r"\[\[[^\]]{1,2000}\]\[([^\]]{1,500})\]\]"), r"\1"),  # [[url][desc]]
    (re.compile(r"\[\[([^\]]{1,2000})\]\]"), r"\1"),  # [[url]]
    (re.compile(r"(?<![\w])([*/_=~+])(?=[^\s*/_=~+])([^\n]{0,500}?[^\s])\1(?![\w])"), r"\2"),  # emphasis
]


def _org(text: str) -> NoteText:
    title: str | None = None
    heading: str | None = None
    out: list[str] = []
    drawer = False
    for line in text.split("\n"):
        stripped = line.strip()
        if drawer:
            drawer = stripped.upper() != ":END:"
            continue
        if re.match(r"^:[A-Z_]+:\s*$", stripped, re.I) and stripped.upper() != ":END:":
            drawer = True
            continue
        m = re.match(r"^#\+(\w+):\s*(.*)$", stripped)
        if m:
            if m.group(1).upper() == "TITLE" and title is None:
                title = m.group(2).strip() or None
                out.append(title or "")
            continue
        if re.match(r"^#\+(BEGIN|END)_\w+", stripped, re.I) or re.match(r"^#(\s|$)", stripped):
            continue
        m = re.match(r"^\*+\s+(.*)$", line)
        if m:
            line = m.group(1)
            heading = heading or _apply(_ORG_INLINE, line).strip() or None
        line = re.sub(r"^(\s*)(?:[-+]|\d+[.)])\s+(?:\[[ X-]\]\s+)?", r"\1", line)
        out.append(_apply(_ORG_INLINE, line))
    return NoteText(title or heading, _tidy("\n".join(out)))


_RST_ADORN = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}\s*$")
_RST_INLINE = [
    (re.compile(r"`([^`<]{1,500}?)\s*<[^>]{1,2000}>`_{1,2}"), r"\1"),  # `text <url>`_
    (re.compile(r":[\w:+-]{1,50}:`([^`]{1,500})`"), r"\1"),  # :role:`text`
    (re.compile(r"``(.{1,500}?)``"), r"\1"),
    (re.compile(r"`([^`]{1,500})`_{0,2}"), r"\1"),
    (re.compile(r"\*\*(?=\S)(.{1,500}?)(?<=\S)\*\*"), r"\1"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.{1,500}?)(?<=\S)\*(?![\w*])"), r"\1"),
]


def _rst(text: str) -> NoteText:
    lines = text.split("\n")
    heading: str | None = None
    out: list[str] = []
    for i, line in enumerate(lines):
        if _RST_ADORN.match(line):
            if i and lines[i - 1].strip() and not _RST_ADORN.match(lines[i - 1]) and heading is None:
                heading = _apply(_RST_INLINE, lines[i - 1]).strip() or None
            continue
        m = re.match(r"^\.\.\s+(?:[\w:-]+::\s*(.*)|\[[^\]]*\]\s*(.*)|_[^:]+:.*|\|[^|]+\|.*|.*)$", line)
        if m:  # directive: keep its argument; footnote: keep its text; comment/target: drop
            kept = m.group(1) or m.group(2) or ""
            if kept:
                out.append(_apply(_RST_INLINE, kept))
            continue
        line = re.sub(r"::\s*$", ":", line)
        line = re.sub(r"^(\s*)(?:[-*+•]|\d+[.)]|#\.)\s+", r"\1", line)
        out.append(_apply(_RST_INLINE, line))
    return NoteText(heading, _tidy("\n".join(out)))


def note_text(text: str, suffix: str) -> NoteText:
    """Plain text and title of a decoded note whose file ends in ``suffix`` (e.g. ``".md"``)."""
    suffix = suffix.lower()
    text = _newlines(text)
    if suffix in (".md", ".markdown"):
        return _markdown(text)
    if suffix == ".org":
        return _org(text)
    if suffix == ".rst":
        return _rst(text)
    if suffix in (".html", ".htm"):
        parsed = _html(text)
        body = _tidy("".join(parsed.chunks), dedent=True)
        title = parsed.title or parsed.heading
        if parsed.title and not body.startswith(parsed.title):
            body = f"{parsed.title}\n\n{body}".strip()
        return NoteText(title, body)
    return NoteText(None, _tidy(text))

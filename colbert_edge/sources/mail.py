"""Mail: one message's bytes -> :class:`MailContent`; mbox files and Maildir folders -> messages.

Contract:

- :func:`parse_message` never raises on a damaged message (MIME nested beyond Python's recursion
  limit keeps its headers only). It parses with the stdlib ``email``
  package (``policy.default``); a header the policy cannot parse is re-read from its raw value
  (RFC 2047 words decoded leniently). Body: inline ``text/plain`` is preferred over ``text/html``
  inside each ``multipart/alternative``; HTML becomes text; the inline parts of other multiparts
  are joined in order; a message with a missing closing boundary or bad base64 keeps what decodes.
  Charsets: the declared one, then UTF-8, cp1252, latin-1 (unknown charset names are ignored).
  Parts with ``Content-Disposition: attachment`` (and non-text parts with a file name) are
  attachments: their names are kept, their content is not read.
- :func:`iter_mbox` streams an mbox file message by message. A separator is a ``From `` line that
  carries a time (``hh:mm``) and a 4-digit year and is followed by a header line, so a body line
  that merely starts with "From " does not split a message, and a missing blank line before a
  separator is tolerated. ``>From `` quoting is undone (mboxrd: one ``>`` removed). Bytes before
  the first separator are reported as a preamble, never parsed as mail.
- :func:`is_mbox` sniffs a file's first lines; :func:`is_maildir` / :func:`maildir_messages` read
  Maildir (and Maildir++) folders: ``new/`` and ``cur/``, never ``tmp/``.
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.parser
import email.policy
import email.utils
import os
import re
from dataclasses import dataclass, field
from datetime import timezone
from email.message import Message
from pathlib import Path
from typing import BinaryIO, Iterator

from colbert_edge.sources.notes import decode_text, html_to_text

__all__ = ["MailContent", "MboxItem", "parse_message", "iter_mbox", "is_mbox", "is_maildir", "maildir_messages"]

#: Parse errors the stdlib ``email`` package is known to raise on hostile input.
_EMAIL_ERRORS = (ValueError, TypeError, IndexError, KeyError, AttributeError, LookupError, email.errors.MessageError)


_SURROGATES = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class MailContent:
    """What one message says: headers as text, the body as plain text, attachment names."""

    subject: str
    sender: str
    to: list[str]
    cc: list[str]
    date: str | None  # ISO-8601 UTC ("2024-01-02T03:04:05Z"), None when absent or unparseable
    message_id: str | None
    body: str
    attachments: list[str] = field(default_factory=list)


def _decode_words(raw: str) -> str:
    """RFC 2047 words of a raw header value, decoded leniently."""
    try:
        parts = email.header.decode_header(raw)
    except _EMAIL_ERRORS:
        return raw
    out = []
    for chunk, charset in parts:
        out.append(decode_text(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return "".join(out)


def _header(msg: Message, name: str) -> str:
    """One header as text ('' when absent), whatever the header's state."""
    try:
        value = msg.get(name)
        if value is None:
            return ""
        text = str(value)
    except _EMAIL_ERRORS:
        raw = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), "")  # type: ignore[attr-defined]
        text = _decode_words(str(raw))
    if "\ufffd" in text or "=?" in text:
        # policy.default leaves undecodable encoded-words in place; retry leniently from the raw value.
        raw = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)  # type: ignore[attr-defined]
        if raw is not None:
            text = _decode_words(str(raw))
    if _SURROGATES.search(text):  # raw 8-bit bytes in the header: decode them as text
        text = decode_text(text.encode("utf-8", "surrogateescape"))
    return " ".join(text.split())


def _addresses(msg: Message, name: str) -> list[str]:
    text = _header(msg, name)
    if not text:
        return []
    try:
        pairs = email.utils.getaddresses([text])
    except _EMAIL_ERRORS:
        return [text]
    found = [f"{n} <{a}>" if n and a else (a or n) for n, a in pairs if n or a]
    return found or [text]


def _date(msg: Message) -> str | None:
    text = _header(msg, "date")
    if not text:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except _EMAIL_ERRORS:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)  # "-0000" / no zone: taken as UTC
    try:
        return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError):
        return None


def _part_text(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except _EMAIL_ERRORS:
        payload = None
    if payload is None:
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    try:
        charset = part.get_content_charset()
    except _EMAIL_ERRORS:
        charset = None
    text = decode_text(payload, charset).replace("\x00", "")
    return html_to_text(text) if part.get_content_type() == "text/html" else text.strip()


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except _EMAIL_ERRORS:
        name = None
    return " ".join(_decode_words(name).split()) if name else None


def _body(part: Message, attachments: list[str]) -> tuple[str, bool]:
    """(text, is_plain) of ``part``; attachment names are appended to ``attachments``."""
    try:
        disposition = part.get_content_disposition()
    except _EMAIL_ERRORS:
        disposition = None
    ctype = part.get_content_type()
    maintype = ctype.split("/")[0]
    name = _filename(part)
    if disposition == "attachment" or (name and maintype not in ("text", "multipart")):
        attachments.append(name or ctype)
        if part.is_multipart():  # an attached message: list what it carries, do not index it
            for sub in part.get_payload():
                _body(sub, attachments)
        return "", False
    if part.is_multipart():
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        results = [_body(c, attachments) for c in children]
        if ctype == "multipart/alternative":
            plain = [t for t, is_plain in results if is_plain and t.strip()]
            other = [t for t, _ in results if t.strip()]
            chosen = plain[0] if plain else (other[0] if other else "")
            return chosen, bool(plain)
        texts = [t for t, _ in results if t.strip()]
        return "\n\n".join(texts), any(p for _, p in results)
    if maintype == "text" and ctype in ("text/plain", "text/html") or maintype == "multipart":
        return _part_text(part), ctype != "text/html"
    if maintype == "text" and ctype not in ("text/calendar", "text/x-vcard", "text/vcard"):
        return _part_text(part), True
    return "", False


def parse_message(raw: bytes) -> MailContent:
    """Headers, body text and attachment names of one RFC 5322 message (see module docstring)."""
    attachments: list[str] = []
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except (RecursionError, *_EMAIL_ERRORS):  # absurdly nested MIME: keep the headers only
        msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw, headersonly=True)
        msg.set_payload("")
    try:
        body, _ = _body(msg, attachments)
    except (RecursionError, *_EMAIL_ERRORS):
        body = _part_text(msg) if not msg.is_multipart() else ""
    message_id = _header(msg, "message-id") or None
    return MailContent(
        subject=_header(msg, "subject"),
        sender=(_addresses(msg, "from") or [""])[0],
        to=_addresses(msg, "to"),
        cc=_addresses(msg, "cc"),
        date=_date(msg),
        message_id=message_id,
        body=body.strip(),
        attachments=attachments,
    )


# ---- mbox ------------------------------------------------------------------------------------

_FROM_LINE = re.compile(rb"^From \S*\s.*\b\d{1,2}:\d{2}(?::\d{2})?\b.*\b\d{4}\b")
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
_QUOTED_FROM = re.compile(rb"^>(>*From )")


@dataclass(frozen=True)
class MboxItem:
    """One message of an mbox (``position`` counts from 0), or the preamble (``position == -1``)."""

    position: int
    raw: bytes
    too_big: bool = False


def is_mbox(head: bytes) -> bool:
    """True when ``head`` (a file's first bytes) starts with an mbox ``From `` line then a header."""
    lines = head.split(b"\n", 2)
    return len(lines) >= 2 and bool(_FROM_LINE.match(lines[0])) and bool(_HEADER_LINE.match(lines[1]))


def iter_mbox(stream: BinaryIO, max_bytes: int) -> Iterator[MboxItem]:
    """Messages of an mbox ``stream`` (see module docstring); ``too_big`` ones carry no bytes."""
    lines: list[bytes] = []
    size = 0
    position = -1  # -1: before the first separator
    previous: bytes | None = None

    def flush() -> Iterator[MboxItem]:
        if position < 0 and not b"".join(lines).strip():
            return
        if size > max_bytes:
            yield MboxItem(position, b"", too_big=True)
            return
        if lines and not lines[-1].strip():
            lines.pop()  # the blank line that precedes a separator
        yield MboxItem(position, b"".join(lines))

    for line in stream:
        if previous is not None:
            if _HEADER_LINE.match(line):  # confirmed: `previous` separated two messages
                yield from flush()
                lines, size, position = [], 0, position + 1
            else:
                size += len(previous)
                if size <= max_bytes:
                    lines.append(previous)
            previous = None
        if _FROM_LINE.match(line):
            previous = line
            continue
        if position >= 0:
            line = _QUOTED_FROM.sub(rb"\1", line)
        size += len(line)
        if size <= max_bytes:
            lines.append(line)
    if previous is not None:
        size += len(previous)
        lines.append(previous)
    yield from flush()


# ---- Maildir ---------------------------------------------------------------------------------


def is_maildir(folder: Path) -> bool:
    """True when ``folder`` holds ``cur/`` and ``new/`` subfolders (``tmp/`` is optional)."""
    return (folder / "cur").is_dir() and (folder / "new").is_dir()


def maildir_messages(folder: Path) -> Iterator[tuple[str, Path]]:
    """``(unique name, file)`` for each message in ``folder/new`` then ``folder/cur``, sorted.

    The unique name is the file name without its ``:2,flags`` info, so it stays the same when a
    client moves a message from ``new/`` to ``cur/`` or changes its flags.
    """
    for sub in ("new", "cur"):
        try:
            names = sorted(os.listdir(folder / sub))
        except OSError:
            continue
        for name in names:
            if not name.startswith("."):
                yield re.split(r"[:!]2,", name, maxsplit=1)[0], folder / sub / name

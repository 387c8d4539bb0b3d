"""Local sources: notes folders and mail (eml, mbox, Maildir) -> :class:`SourceDocument` records.

Contract of :func:`scan`:

- Each path may be a notes folder (walked recursively), a note file (``.md .markdown .txt .org
  .rst .html .htm``), an ``.eml`` file, an mbox file (``.mbox``/``.mbx``, or any file whose first
  line is an mbox ``From `` line followed by a header), or a Maildir folder (``cur/`` + ``new/``;
  its Maildir++ ``.Folder`` subfolders too).
- Walks follow a symlink only when its target stays inside the scanned tree, and never visit a
  real folder twice (symlink loops end). Hidden files and folders (``.git``, ``.obsidian``) are
  skipped, except Maildir++ folders inside a Maildir. A document reached twice (overlapping paths,
  links inside the tree) is yielded once.
- Inside folders, files of unknown type are ignored silently. These are yielded as
  :class:`Skipped` with a short reason: a named path that does not exist or has an unknown type; a
  note that is binary; a file that cannot be read (permissions, vanished, dangling link, FIFO or
  device); a link that leaves the tree; a file (or one mbox message) over ``max_bytes``; the bytes
  before an mbox's first ``From `` line. A damaged message still gives a document with whatever
  could be read. One bad file never stops a scan; nothing here raises for it.
- mbox files are streamed, so ``max_bytes`` applies to each message, not to the file. A ``.txt``
  or extension-less file is read as mbox when it starts like one. Mail folder names: Maildir++
  ``.Sent`` -> ``Sent``; a top Maildir (``Maildir``, ``mail``, ``inbox``) -> ``INBOX``; any other
  Maildir folder, its own name; mbox -> file stem; eml -> its parent folder's name.
- Documents come in walk order (folder entries sorted by name, depth first), lazily.

Record fields are documented on :class:`SourceDocument`.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Literal

from colbert_edge.errors import InvalidArgument
from colbert_edge.sources import mail as _mail
from colbert_edge.sources import notes as _notes

__all__ = ["SourceDocument", "Skipped", "scan"]

MAIL_SUFFIXES = frozenset({".eml", ".mbox", ".mbx"})


@dataclass(frozen=True)
class SourceDocument:
    """One searchable document.

    key:          stable unique id. Note: its absolute resolved path. Mail: ``"<mailbox>#<id>"``
                  where mailbox is the resolved eml file, mbox file or Maildir folder and id is the
                  Message-ID, else ``pos-<n>`` (mbox), ``file-<unique name>`` (Maildir), ``file``
                  (eml); a Message-ID repeated in one mailbox gets ``~<n>`` appended.
    kind:         ``"note"`` or ``"mail"``.
    path:         the file as reached by the walk (absolute, not resolved).
    title:        note: first heading, else the file stem; mail: subject, else ``"(no subject)"``.
    text:         searchable plain text (mail: the subject line, a blank line, then the body).
    metadata:     JSON-able; keys kind, path, folder (mail folder / note parent folder name), sender,
                  to, cc, date (ISO-8601 UTC; a note's is its mtime), subject, message_id,
                  attachments (names), mtime (ISO-8601 UTC). Absent values are ``None`` / ``[]``.
    content_hash: sha256 hex of the note file's bytes / of the message's bytes (mbox: without the
                  ``From `` line, ``>From`` unquoted).
    """

    key: str
    kind: Literal["note", "mail"]
    path: str
    title: str
    text: str
    metadata: dict = field(hash=False, compare=True)
    content_hash: str


@dataclass(frozen=True)
class Skipped:
    """A file (or mbox message: ``path#pos-<n>``) that gave no document, and why."""

    path: str
    reason: str


Item = SourceDocument | Skipped


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _regular(path: Path) -> os.stat_result | Skipped:
    """The stat of a regular file, or why it cannot be read."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        reason = "dangling symlink" if os.path.islink(path) else "vanished before it could be read"
        return Skipped(str(path), f"unreadable: {reason}")
    except OSError as exc:
        return Skipped(str(path), f"unreadable: {exc.strerror or exc}")
    if not stat.S_ISREG(info.st_mode):
        return Skipped(str(path), "unreadable: not a regular file (FIFO, socket or device)")
    return info


def _read(path: Path, max_bytes: int) -> bytes | Skipped:
    """The bytes of a regular file, or why they cannot be had."""
    info = _regular(path)
    if isinstance(info, Skipped):
        return info
    if info.st_size > max_bytes:
        return Skipped(str(path), f"too large: {info.st_size} bytes > max_bytes={max_bytes}")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        return Skipped(str(path), "unreadable: vanished before it could be read")
    except OSError as exc:
        return Skipped(str(path), f"unreadable: {exc.strerror or exc}")
    if len(raw) > max_bytes:
        return Skipped(str(path), f"too large: grew past max_bytes={max_bytes} while read")
    return raw


def _mtime(path: Path) -> str | None:
    try:
        return _iso(os.stat(path).st_mtime)
    except OSError:
        return None


def _note(path: Path, max_bytes: int) -> Item:
    raw = _read(path, max_bytes)
    if isinstance(raw, Skipped):
        return raw
    if _notes.looks_binary(raw):
        return Skipped(str(path), "binary content in a note file")
    reduced = _notes.note_text(_notes.decode_text(raw), path.suffix)
    mtime = _mtime(path)
    metadata = {
        "kind": "note", "path": str(path), "folder": path.parent.name, "sender": None, "to": [], "cc": [],
        "date": mtime, "subject": None, "message_id": None, "attachments": [], "mtime": mtime,
    }  # fmt: skip
    return SourceDocument(
        key=str(path.resolve()),
        kind="note",
        path=str(path),
        title=reduced.title or path.stem,
        text=reduced.text,
        metadata=metadata,
        content_hash=hashlib.sha256(raw).hexdigest(),
    )


class _Mailbox:
    """Turns raw messages of one mailbox into documents with unique keys."""

    def __init__(self, box: Path, folder: str) -> None:
        self.box = str(box.resolve())
        self.folder = folder
        self.seen: dict[str, int] = {}

    def document(self, raw: bytes, path: Path, fallback: str, mtime: str | None) -> Item:
        parsed = _mail.parse_message(raw)
        ident = parsed.message_id or fallback
        count = self.seen.get(ident, 0)
        self.seen[ident] = count + 1
        if count:
            ident = f"{ident}~{count}"
        title = parsed.subject or "(no subject)"
        text = f"{parsed.subject}\n\n{parsed.body}".strip() if parsed.subject else parsed.body
        metadata = {
            "kind": "mail", "path": str(path), "folder": self.folder, "sender": parsed.sender or None,
            "to": parsed.to, "cc": parsed.cc, "date": parsed.date, "subject": parsed.subject or None,
            "message_id": parsed.message_id, "attachments": parsed.attachments, "mtime": mtime,
        }  # fmt: skip
        return SourceDocument(
            key=f"{self.box}#{ident}",
            kind="mail",
            path=str(path),
            title=title,
            text=text,
            metadata=metadata,
            content_hash=hashlib.sha256(raw).hexdigest(),
        )


def _eml(path: Path, max_bytes: int) -> Iterator[Item]:
    raw = _read(path, max_bytes)
    if isinstance(raw, Skipped):
        yield raw
        return
    yield _Mailbox(path, path.parent.name).document(raw, path, "file", _mtime(path))


def _mbox(path: Path, max_bytes: int) -> Iterator[Item]:
    check = _regular(path)  # the size limit applies per message
    if isinstance(check, Skipped):
        yield check
        return
    box = _Mailbox(path, path.stem if path.suffix.lower() in (".mbox", ".mbx") else path.name)
    mtime = _mtime(path)
    try:
        with open(path, "rb") as stream:
            for item in _mail.iter_mbox(stream, max_bytes):
                where = f"pos-{item.position}"
                if item.position < 0:
                    yield Skipped(f"{path}#preamble", "bytes before the first 'From ' line are not a message")
                elif item.too_big:
                    yield Skipped(f"{path}#{where}", f"too large: message over max_bytes={max_bytes}")
                else:
                    yield box.document(item.raw, path, where, mtime)
    except OSError as exc:
        yield Skipped(str(path), f"unreadable: {exc.strerror or exc}")


def _maildir(folder: Path, max_bytes: int) -> Iterator[Item]:
    name = folder.name.lstrip(".")  # Maildir++ ".Sent.2024" -> "Sent.2024"
    if not folder.name.startswith(".") and name.lower() in ("maildir", "mail", "inbox", ""):
        name = "INBOX"
    box = _Mailbox(folder, name)
    for unique, path in _mail.maildir_messages(folder):
        raw = _read(path, max_bytes)
        if isinstance(raw, Skipped):
            yield raw
        else:
            yield box.document(raw, path, f"file-{unique}", _mtime(path))


def _head(path: Path) -> bytes:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return b""
        with open(path, "rb") as handle:
            return handle.read(4096)
    except OSError:
        return b""


def _file(path: Path, max_bytes: int, named: bool) -> Iterator[Item]:
    """Documents of one file; ``named`` when the user gave it (unknown types are then reported)."""
    suffix = path.suffix.lower()
    if suffix == ".eml":
        yield from _eml(path, max_bytes)
    elif suffix in (".mbox", ".mbx"):
        yield from _mbox(path, max_bytes)
    elif (suffix == ".txt" or suffix not in _notes.NOTE_SUFFIXES) and _mail.is_mbox(_head(path)):
        yield from _mbox(path, max_bytes)  # Thunderbird-style "Inbox", or an mbox saved as .txt
    elif suffix in _notes.NOTE_SUFFIXES:
        yield _note(path, max_bytes)
    elif named:
        yield Skipped(str(path), f"unknown file type {suffix or '(no extension)'}: not a note, eml, mbox or Maildir")


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _walk(top: Path, max_bytes: int, visited: set[str]) -> Iterator[Item]:
    """Depth-first walk of one scanned folder (see the module docstring for the rules)."""
    root = os.path.realpath(top)
    stack = [top]
    while stack:
        folder = stack.pop()
        real = os.path.realpath(folder)
        if real in visited:
            continue
        visited.add(real)
        maildir = _mail.is_maildir(folder)
        if maildir:
            yield from _maildir(folder, max_bytes)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            yield Skipped(str(folder), f"unreadable folder: {exc.strerror or exc}")
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError:
                is_dir = False
            if maildir and entry.name in ("cur", "new", "tmp"):
                continue
            if entry.name.startswith(".") and not (maildir and is_dir):
                continue
            if entry.is_symlink():
                target = os.path.realpath(path)
                if os.path.exists(target) and not _inside(target, root):
                    if is_dir or path.suffix.lower() in _notes.NOTE_SUFFIXES | MAIL_SUFFIXES:
                        yield Skipped(str(path), "symlink leaves the scanned tree: not followed")
                    continue
            if is_dir:
                subfolders.append(path)
            else:
                yield from _file(path, max_bytes, named=False)
        stack.extend(reversed(subfolders))


def scan(paths: Iterable[str | os.PathLike[str]], *, max_bytes: int = 20_000_000) -> Iterator[Item]:
    """Yield a :class:`SourceDocument` or :class:`Skipped` for everything under ``paths``.

    See the module docstring for what is read and what is skipped. Raises
    :class:`~colbert_edge.errors.InvalidArgument` only for a bad argument (``max_bytes < 1``,
    ``paths`` given as one string instead of a list), before anything is read.
    """
    if isinstance(paths, (str, bytes, os.PathLike)):
        raise InvalidArgument(
            f"scan(paths=...) expects a list of paths, got the single path {paths!r}; wrap it: [path]"
        )
    if not isinstance(max_bytes, int) or max_bytes < 1:
        raise InvalidArgument(f"max_bytes={max_bytes!r} must be an int >= 1")
    return _scan(list(paths), max_bytes)


def _scan(paths: list[str | os.PathLike[str]], max_bytes: int) -> Iterator[Item]:
    visited: set[str] = set()  # real folders already walked
    keys: set[str] = set()  # documents already yielded
    for given in paths:
        path = Path(os.path.abspath(os.fspath(given)))
        if not os.path.lexists(path):
            items: Iterable[Item] = [Skipped(str(path), "does not exist")]
        elif path.is_dir():
            items = _walk(path, max_bytes, visited)
        else:
            items = _file(path, max_bytes, named=True)
        for item in items:
            if isinstance(item, SourceDocument):
                if item.key in keys:
                    continue
                keys.add(item.key)
            yield item

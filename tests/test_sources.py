"""colbert_edge.sources: notes trees, eml, mbox and Maildir -> documents; bad files -> Skipped."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

import colbert_edge.sources as sources
from colbert_edge.errors import InvalidArgument
from colbert_edge.sources import Skipped, SourceDocument, scan


def run(paths, **kw) -> tuple[list[SourceDocument], list[Skipped]]:
    items = list(scan([str(p) for p in paths], **kw))
    docs = [i for i in items if isinstance(i, SourceDocument)]
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert len(docs) + len(skipped) == len(items)
    assert len({d.key for d in docs}) == len(docs), "duplicate keys"
    for d in docs:
        json.dumps(d.metadata)  # JSON-able
    return docs, skipped


def by_name(docs: list[SourceDocument]) -> dict[str, SourceDocument]:
    return {Path(d.path).name: d for d in docs}


# ---- notes -----------------------------------------------------------------------------------


@pytest.fixture
def notes_tree(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    (root / "projects" / "deep").mkdir(parents=True)
    (root / ".obsidian").mkdir()
    (root / "a.md").write_text("# Alpha *plan*\n\nSee [the docs](http://x.example/docs).\n", encoding="utf-8")
    (root / "projects" / "b.org").write_text("#+TITLE: Bravo\n* Heading\nSome /org/ text\n", encoding="utf-8")
    (root / "projects" / "deep" / "c.txt").write_text("plain charlie text", encoding="utf-8")
    (root / "projects" / "deep" / "d.html").write_text(
        "<html><head><title>Delta</title><style>p{color:red}</style></head>"
        "<body><p>Caf&eacute; &amp; bar</p><script>alert('x')</script><p>second</p></body></html>",
        encoding="utf-8",
    )
    (root / "e.rst").write_text("Echo title\n==========\n\nSome ``code`` here.\n", encoding="utf-8")
    (root / "ignored.xyz").write_text("not a note", encoding="utf-8")
    (root / ".obsidian" / "hidden.md").write_text("# hidden", encoding="utf-8")
    (root / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    (root / "big.txt").write_text("x" * 5000, encoding="utf-8")
    (root / "projects" / "loop").symlink_to(root, target_is_directory=True)  # a symlink loop
    (root / "projects" / "also-a.md").symlink_to(root / "a.md")  # inside the tree: same document
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# outside the tree", encoding="utf-8")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "escape.md").symlink_to(outside / "secret.md")
    (root / "gone.md").symlink_to(tmp_path / "does-not-exist.md")  # dangling
    os.mkfifo(root / "pipe.md")  # would block a naive open()
    return root


def test_notes_tree_documents_and_skips(notes_tree: Path) -> None:
    docs, skipped = run([notes_tree], max_bytes=2000)
    names = by_name(docs)
    assert set(names) == {"a.md", "b.org", "c.txt", "d.html", "e.rst"}
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert set(reasons) == {"binary.md", "big.txt", "escape", "escape.md", "gone.md", "pipe.md"}
    assert "binary" in reasons["binary.md"]
    assert "too large" in reasons["big.txt"] and "max_bytes=2000" in reasons["big.txt"]
    assert "leaves the scanned tree" in reasons["escape"] and "leaves" in reasons["escape.md"]
    assert "dangling symlink" in reasons["gone.md"]
    assert "not a regular file" in reasons["pipe.md"]
    assert not any("outside" in d.text or "hidden" in d.text for d in docs)


def test_note_fields_and_markup_reduction(notes_tree: Path) -> None:
    docs = by_name(run([notes_tree])[0])
    a = docs["a.md"]
    assert a.kind == "note" and a.key == str((notes_tree / "a.md").resolve())
    assert a.title == "Alpha plan"
    assert a.text == "Alpha plan\n\nSee the docs."
    assert a.content_hash == hashlib.sha256((notes_tree / "a.md").read_bytes()).hexdigest()
    assert a.metadata["kind"] == "note" and a.metadata["folder"] == "notes"
    assert a.metadata["mtime"].endswith("Z") and a.metadata["date"] == a.metadata["mtime"]
    assert docs["b.org"].title == "Bravo" and "Some org text" in docs["b.org"].text
    assert docs["b.org"].metadata["folder"] == "projects"
    assert docs["c.txt"].title == "c" and docs["c.txt"].text == "plain charlie text"
    d = docs["d.html"]
    assert d.title == "Delta"
    assert d.text == "Delta\n\nCafé & bar\n\nsecond"
    e = docs["e.rst"]
    assert e.title == "Echo title" and e.text == "Echo title\n\nSome code here."


def test_markdown_keeps_code_fences_and_list_text(tmp_path: Path) -> None:
    note = tmp_path / "n.md"
    note.write_text(
        "Intro with snake_case_name and __strong__ and ~~gone~~\n"
        "```python\nx = **not emphasis**\n```\n"
        "- [x] done item\n> quoted [[Wiki Page|alias]]\n\n| h1 | h2 |\n|----|----|\n| c1 | c2 |\n",
        encoding="utf-8",
    )
    (doc,) = run([note])[0]
    assert doc.title == "n"  # no heading: the stem
    assert doc.text == (
        "Intro with snake_case_name and strong and gone\nx = **not emphasis**\ndone item\nquoted alias\n\nh1 h2\nc1 c2"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("café ✓".encode("utf-8-sig"), "café ✓"),
        ("café ✓ 東京".encode("utf-16"), "café ✓ 東京"),  # with BOM
        (b"caf\xe9 \x93quoted\x94\r\nline", "café “quoted”\nline"),  # cp1252
        (b"caf\xe9 \x81odd", "café \x81odd"),  # not cp1252 either: latin-1
    ],
)
def test_note_decoding(tmp_path: Path, raw: bytes, expected: str) -> None:
    note = tmp_path / "n.txt"
    note.write_bytes(raw)
    (doc,) = run([note])[0]
    assert doc.text == expected


def test_file_vanishing_between_listing_and_reading(notes_tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = open

    def flaky_open(path, *args, **kwargs):
        if Path(path).name == "c.txt":
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(sources, "open", flaky_open, raising=False)
    docs, skipped = run([notes_tree])
    assert "c.txt" not in by_name(docs) and "a.md" in by_name(docs)
    (gone,) = [s for s in skipped if s.path.endswith("c.txt")]
    assert gone.reason == "unreadable: vanished before it could be read"


def test_named_paths_and_overlap(notes_tree: Path, tmp_path: Path) -> None:
    (tmp_path / "unknown.bin").write_bytes(b"\x00\x01")
    docs, skipped = run([notes_tree / "a.md", notes_tree, tmp_path / "missing", tmp_path / "unknown.bin"])
    assert sorted(by_name(docs)) == ["a.md", "b.org", "big.txt", "c.txt", "d.html", "e.rst"]  # a.md once
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert reasons["missing"] == "does not exist"
    assert reasons["unknown.bin"].startswith("unknown file type .bin")


@pytest.mark.parametrize(("paths", "kwargs"), [("notes", {}), (["notes"], {"max_bytes": 0})])
def test_bad_arguments(paths, kwargs) -> None:
    with pytest.raises(InvalidArgument):
        scan(paths, **kwargs)


# ---- mail ------------------------------------------------------------------------------------

NESTED = b"""From: =?iso-8859-1?q?Andr=E9_M=FCller?= <andre@example.com>
To: bob@example.com, "Carl C" <carl@example.com>
Cc: dana@example.com
Subject: =?iso-8859-1?q?Caf=E9_cr=E8me?= budget
Date: Mon, 1 Jan 2024 10:00:00 +0100
Message-ID: <nested@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="OUTER"

--OUTER
Content-Type: multipart/alternative; boundary="INNER"

--INNER
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

The plain caf=C3=A9 version.
--INNER
Content-Type: text/html; charset=utf-8

<p>The HTML version.</p>
--INNER--
--OUTER
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

U0VDUkVUIFBERiBDT05URU5U
--OUTER--
"""

HTML_ONLY = b"""From: shop@example.com
Subject: Your order
Date: Tue, 02 Jan 2024 12:00:00 -0000
Content-Type: text/html; charset=iso-8859-1

<html><head><style>.x{}</style></head><body><h1>Order &#35;42</h1><p>Ol\xe1, your <b>order</b> shipped.</p>
<script>track()</script></body></html>
"""

BROKEN = b"""From: broken@example.com
Subject: broken mime
Message-ID: <broken@example.com>
Content-Type: multipart/mixed; boundary="B"

--B
Content-Type: text/plain; charset=x-unknown
Content-Transfer-Encoding: quoted-printable

Unknown charset caf=C3=A9 text
--B
Content-Type: text/plain
Content-Transfer-Encoding: base64

SGVsbG8gd29ybGQ=!!bad*base64
--B
Content-Type: text/plain; charset=x-unknown

Latin bytes caf\xe9 here
"""


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_eml_nested_multipart_with_attachment(tmp_path: Path) -> None:
    eml = write(tmp_path / "inbox" / "nested.eml", NESTED)
    (doc,) = run([eml])[0]
    assert doc.kind == "mail" and doc.key == f"{eml.resolve()}#<nested@example.com>"
    assert doc.title == "Café crème budget"
    assert doc.text == "Café crème budget\n\nThe plain café version."
    assert "HTML version" not in doc.text and "SECRET" not in doc.text
    m = doc.metadata
    assert m["sender"] == "André Müller <andre@example.com>"
    assert m["to"] == ["bob@example.com", "Carl C <carl@example.com>"] and m["cc"] == ["dana@example.com"]
    assert m["date"] == "2024-01-01T09:00:00Z"
    assert m["attachments"] == ["report.pdf"] and m["folder"] == "inbox"
    assert doc.content_hash == hashlib.sha256(NESTED).hexdigest()


def test_html_only_mail_becomes_text(tmp_path: Path) -> None:
    (doc,) = run([write(tmp_path / "h.eml", HTML_ONLY)])[0]
    assert doc.text == "Your order\n\nOrder #42\n\nOlá, your order shipped."
    assert doc.metadata["date"] == "2024-01-02T12:00:00Z"
    assert doc.key.endswith("h.eml#file")  # no Message-ID


def test_broken_mime_keeps_what_can_be_read(tmp_path: Path) -> None:
    (doc,) = run([write(tmp_path / "b.eml", BROKEN)])[0]
    assert "Unknown charset café text" in doc.text  # x-unknown -> utf-8
    assert "Hello world" in doc.text  # bad base64 tail dropped
    assert "Latin bytes café here" in doc.text  # x-unknown, not utf-8 -> latin-1; no end boundary


MBOX = (
    b"This file starts with garbage that is not a message.\n\n"
    b"From alice@example.com Mon Jan  1 10:00:00 2024\n"
    b"From: alice@example.com\nSubject: first\nMessage-ID: <one@x>\n\n"
    b"Hello.\n>From the archive, a quoted line.\n>>From deeper.\n"
    b"From here on the body mentions From at the start of a line.\n"
    b"From Monday 9:30 until 2024 the team met daily\nand nobody complained.\n\n"
    b"From bob@example.com Tue Jan  2 11:00:00 2024\n"
    b"From: bob@example.com\nSubject: second, no id\n\nSecond body.\n"
    b"From carl@example.com Wed Jan  3 12:00:00 +0000 2024\n"  # no blank line before it
    b"From: carl@example.com\nSubject: third\nMessage-ID: <one@x>\n\nSame id as the first.\n"
)


def test_mbox_quirks(tmp_path: Path) -> None:
    box = write(tmp_path / "Archive.mbox", MBOX)
    docs, skipped = run([box])
    assert [d.title for d in docs] == ["first", "second, no id", "third"]
    first, second, third = docs
    assert first.text == (
        "first\n\nHello.\nFrom the archive, a quoted line.\n>From deeper.\n"
        "From here on the body mentions From at the start of a line.\n"
        "From Monday 9:30 until 2024 the team met daily\nand nobody complained."
    )
    real = str(box.resolve())
    assert [d.key for d in docs] == [f"{real}#<one@x>", f"{real}#pos-1", f"{real}#<one@x>~1"]
    assert second.text == "second, no id\n\nSecond body."
    assert all(d.metadata["folder"] == "Archive" for d in docs)
    assert first.content_hash == hashlib.sha256(
        b"From: alice@example.com\nSubject: first\nMessage-ID: <one@x>\n\n"
        b"Hello.\nFrom the archive, a quoted line.\n>From deeper.\n"
        b"From here on the body mentions From at the start of a line.\n"
        b"From Monday 9:30 until 2024 the team met daily\nand nobody complained.\n"
    ).hexdigest()
    assert [s.path for s in skipped] == [f"{box}#preamble"]


def test_mbox_detected_by_content_and_big_message_skipped(tmp_path: Path) -> None:
    big = b"From x@y Thu Jan  4 00:00:00 2024\nFrom: x@y\nSubject: big\n\n" + b"y" * 3000 + b"\n"
    write(tmp_path / "mail" / "Inbox", MBOX.split(b"\n\n", 1)[1] + big)  # no extension
    write(tmp_path / "mail" / "Inbox.msf", b"// mork index, not mail")
    docs, skipped = run([tmp_path / "mail"], max_bytes=1000)
    assert [d.title for d in docs] == ["first", "second, no id", "third"]
    assert [(Path(s.path).name, s.reason) for s in skipped] == [
        ("Inbox#pos-3", "too large: message over max_bytes=1000")
    ]


def test_maildir_new_cur_and_subfolders(tmp_path: Path) -> None:
    md = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"):
        (md / sub).mkdir(parents=True)
    write(md / "new" / "1700000000.M1P1.host", b"Subject: unread\nMessage-ID: <n@x>\n\nnew mail")
    write(md / "cur" / "1700000001.M2P2.host:2,S", b"Subject: read, no id\n\nseen mail")
    write(md / "tmp" / "1700000002.M3P3.host", b"Subject: being delivered\n\npartial")
    write(md / ".Sent" / "cur" / "1700000003.M4P4.host:2,RS", NESTED)
    write(md / ".Sent" / "maildirfolder", b"")
    docs, skipped = run([md])
    assert not skipped
    got = {d.title: d for d in docs}
    assert set(got) == {"unread", "read, no id", "Café crème budget"}
    assert got["unread"].key == f"{md.resolve()}#<n@x>" and got["unread"].metadata["folder"] == "INBOX"
    assert got["read, no id"].key == f"{md.resolve()}#file-1700000001.M2P2.host"
    sent = got["Café crème budget"]
    assert sent.metadata["folder"] == "Sent" and sent.key == f"{(md / '.Sent').resolve()}#<nested@example.com>"


def test_damaged_messages_never_raise(tmp_path: Path) -> None:
    import random

    from colbert_edge.sources.mail import parse_message

    rng = random.Random(3)
    seeds = [NESTED, HTML_ONLY, BROKEN, MBOX]
    for _ in range(300):
        raw = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 20)):  # flip, drop or duplicate bytes
            at = rng.randrange(len(raw))
            op = rng.random()
            if op < 0.4:
                raw[at] = rng.randrange(256)
            elif op < 0.7:
                del raw[at : at + rng.randint(1, 30)]
            else:
                raw[at:at] = raw[at : at + rng.randint(1, 30)]
        content = parse_message(bytes(raw))
        assert isinstance(content.body, str) and isinstance(content.subject, str)
    nested = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(2000))
    write(tmp_path / "deep.eml", b"Subject: too deep\n" + nested)  # beyond Python's recursion limit
    (doc,) = run([tmp_path / "deep.eml"])[0]
    assert doc.title == "too deep" and doc.text == "too deep"  # the headers survive

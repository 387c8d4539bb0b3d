"""Bad files and bad arguments get named errors that name the values; nothing is half-changed."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from index_data import make_corpus

from colbert_edge.edge_index import Index
from colbert_edge.errors import (
    ColbertEdgeError,
    DimensionMismatch,
    FingerprintMismatch,
    IndexBusy,
    IndexCorrupt,
    InvalidArgument,
    InvalidVectors,
    NotAnIndex,
    SchemaVersionError,
)

DIM = 128


@pytest.fixture(scope="module")
def corpus():
    return make_corpus(150, n_queries=2, seed=12)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, corpus) -> Path:
    path = tmp_path_factory.mktemp("template") / "index.db"
    with Index.open(path, fingerprint="bundle-A", dim=DIM, train_at=100) as index:
        index.add(corpus.ids, corpus.docs)
    assert not Path(str(path) + "-wal").exists()  # closed cleanly: one self-contained file
    return path


@pytest.fixture
def index_path(tmp_path: Path, template: Path) -> Path:
    """A private copy of a trained 150-document index."""
    path = tmp_path / "index.db"
    shutil.copy(template, path)
    return path


def test_text_file_is_not_an_index(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not SQLite at all\n" * 200)
    with pytest.raises(NotAnIndex, match="not a SQLite database"):
        Index.open(path)


def test_foreign_sqlite_database_is_not_an_index(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE contacts(name TEXT)")
    with pytest.raises(NotAnIndex, match="contacts"):
        Index.open(path, fingerprint="fp", dim=DIM)


def test_newer_schema_version_is_refused(index_path: Path) -> None:
    with sqlite3.connect(index_path) as conn:
        conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (json.dumps(99),))
    with pytest.raises(SchemaVersionError, match="99"):
        Index.open(index_path)


def test_damaged_file_is_index_corrupt(index_path: Path, corpus) -> None:
    data = bytearray(index_path.read_bytes())
    page = 4096
    rng = np.random.default_rng(0)
    for start in range(page, len(data) - page, 3 * page):  # scribble over a third of the pages
        data[start : start + page] = rng.integers(0, 256, size=page, dtype=np.uint8).tobytes()
    index_path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match="damaged|integrity|rebuild"):
        with Index.open(index_path) as index:
            index.check()
            index.search(corpus.queries[0], k=5)


@pytest.mark.parametrize("damage", ["short BLOB", "code out of range"])
def test_undecodable_document_is_index_corrupt(index_path: Path, corpus, damage: str) -> None:
    with sqlite3.connect(index_path) as conn:  # a valid SQLite file whose vectors are wrong
        doc_no, blob = conn.execute("SELECT doc_no, vectors FROM documents WHERE encoding=1 LIMIT 1").fetchone()
        bad = blob[:-7] if damage == "short BLOB" else b"\xff\xff" + blob[2:]  # code 65535 of ~64 centroids
        conn.execute("UPDATE documents SET vectors=? WHERE doc_no=?", (bad, doc_no))
    with Index.open(index_path) as index, pytest.raises(IndexCorrupt, match="cannot be decoded"):
        index.search(corpus.queries[0], k=5, nprobe=None, candidates=None)


def test_truncated_file_is_index_corrupt(index_path: Path) -> None:
    data = index_path.read_bytes()
    index_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorrupt):
        with Index.open(index_path) as index:
            index.check()


def test_other_bundle_fingerprint_names_both(index_path: Path) -> None:
    with pytest.raises(FingerprintMismatch, match="bundle-A.*bundle-B"):
        Index.open(index_path, fingerprint="bundle-B")


def test_other_dimension_names_both(index_path: Path) -> None:
    with pytest.raises(DimensionMismatch, match="128.*96"):
        Index.open(index_path, dim=96)


@pytest.mark.parametrize(
    "options",
    [{"dim": DIM}, {"fingerprint": "fp"}, {"fingerprint": "fp", "dim": 0}, {"fingerprint": "fp", "dim": DIM, "codec": "pq"},
     {"fingerprint": "fp", "dim": 127}, {"fingerprint": "fp", "dim": DIM, "train_at": 0}],
)
def test_bad_build_parameters(tmp_path: Path, options: dict) -> None:
    with pytest.raises(InvalidArgument):
        Index.open(tmp_path / "new.db", **options)
    assert not (tmp_path / "new.db").exists() or (tmp_path / "new.db").stat().st_size == 0


GOOD = np.ones((4, DIM), dtype=np.float32) / np.sqrt(DIM)


@pytest.mark.parametrize(
    "query, error",
    [
        (np.ones((4, 96), dtype=np.float32), DimensionMismatch),
        (np.where(np.arange(DIM) == 3, np.nan, GOOD), InvalidVectors),
        (np.where(np.arange(DIM) == 3, np.inf, GOOD), InvalidVectors),
        (np.zeros((0, DIM), dtype=np.float32), InvalidVectors),
        (np.ones(DIM, dtype=np.float32), InvalidVectors),
        ([], InvalidVectors),
        (np.array([["a"] * DIM]), InvalidVectors),
    ],
)
def test_bad_query_vectors(index_path: Path, query: object, error: type) -> None:
    with Index.open(index_path) as index, pytest.raises(error):
        index.search(query, k=5)  # type: ignore[arg-type]


@pytest.mark.parametrize("options", [{"k": 0}, {"k": -3}, {"k": 2.5}, {"k": True}, {"nprobe": 0}, {"candidates": 3, "k": 10},
                                     {"exact_tokens": 0}, {"exact_tokens": -5}])
def test_bad_search_arguments(index_path: Path, options: dict) -> None:
    with Index.open(index_path) as index, pytest.raises(InvalidArgument):
        index.search(GOOD, **options)


@pytest.mark.parametrize(
    "ids, docs, metadata, error",
    [
        (["x"], [np.ones((3, 64), dtype=np.float32)], None, DimensionMismatch),
        (["x"], [np.full((3, DIM), np.nan, dtype=np.float32)], None, InvalidVectors),
        (["x"], [np.zeros((0, DIM), dtype=np.float32)], None, InvalidVectors),
        (["x", "x"], [GOOD, GOOD], None, InvalidArgument),
        (["x", "y"], [GOOD], None, InvalidArgument),
        ([7], [GOOD], None, InvalidArgument),
        ("xy", [GOOD, GOOD], None, InvalidArgument),
        (["x"], [GOOD], [["not", "a", "dict"]], InvalidArgument),
        (["x"], [GOOD], [{"f": object()}], InvalidArgument),
        (["x", "y"], [GOOD, GOOD], [{}], InvalidArgument),
    ],
)
def test_bad_add_changes_nothing(index_path: Path, ids: object, docs: list, metadata: object, error: type) -> None:
    with Index.open(index_path) as index:
        with pytest.raises(error):
            index.add(ids, docs, metadata)  # type: ignore[arg-type]
        assert len(index) == 150
        index.check()


def test_errors_share_the_base_class_and_builtin() -> None:
    assert issubclass(InvalidVectors, ColbertEdgeError) and issubclass(InvalidVectors, ValueError)
    assert issubclass(IndexBusy, TimeoutError)


def test_closed_index_says_so(index_path: Path) -> None:
    index = Index.open(index_path)
    index.close()
    index.close()
    with pytest.raises(InvalidArgument, match="closed"):
        index.search(GOOD, k=1)


def test_second_writer_gets_index_busy_and_nothing_breaks(index_path: Path, corpus) -> None:
    holder = sqlite3.connect(index_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer in the middle of its transaction
    try:
        with Index.open(index_path, timeout=0.2) as index:
            assert len(index.search(corpus.queries[0], k=5)) == 5  # readers are not blocked
            with pytest.raises(IndexBusy, match="another writer"):
                index.add(["late"], [GOOD])
            with pytest.raises(IndexBusy):
                index.delete(["doc-1"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Index.open(index_path) as index:
        index.add(["late"], [GOOD])  # once released, the same write goes through
        assert len(index) == 151
        index.check()

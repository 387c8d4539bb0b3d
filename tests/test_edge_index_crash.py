"""A writer killed mid-add leaves a sound file; readers search while a writer writes; writers queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from index_data import WRITER_DOCS_PER_BATCH, WRITER_SCRIPT, writer_batch

from colbert_edge.edge_index import Index
from colbert_edge.edge_index.maxsim import exhaustive_search

TESTS = str(Path(__file__).parent)


def _writer(path: Path, codec: str, first: int, count: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, TESTS, str(path), codec, str(first), str(count)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _committed(proc: subprocess.Popen, until: int) -> set[int]:
    """Read 'committed B' lines until batch ``until`` is reported; returns the batches seen."""
    seen: set[int] = set()
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.add(int(line.split()[1]))
        if until in seen:
            return seen
    raise AssertionError(f"writer ended early: {proc.wait()} {proc.stderr.read() if proc.stderr else ''}")


def _batches_present(index: Index) -> dict[int, set[str]]:
    present: dict[int, set[str]] = {}
    for hit in index.search(np.eye(64, dtype=np.float32)[:1], k=100000, nprobe=None, candidates=None):
        present.setdefault(int(hit.metadata["batch"]), set()).add(hit.id)
    return present


def test_sigkill_mid_add_leaves_only_whole_committed_documents(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    rng = np.random.default_rng(0)
    committed: set[int] = set()
    first = 0
    for _ in range(3):  # three kills; the first lands around centroid training (train_at=150)
        proc = _writer(path, "residual4", first, 1000)
        committed |= _committed(proc, first + 2)
        time.sleep(float(rng.uniform(0.0, 0.3)))  # the writer spends nearly all its time inside add()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.stdout is not None
        committed |= {int(line.split()[1]) for line in proc.stdout.read().split("\n") if line}
        with Index.open(path) as index:
            index.check()
            present = _batches_present(index)
        assert committed <= set(present), "a reported commit was lost"
        for batch, ids in present.items():  # whole batches only: no half document, no half add
            assert ids == set(writer_batch(batch)[0]), f"batch {batch} is partial"
        first = max(present) + 1
    with Index.open(path) as index:
        assert index.info().n_centroids > 0
        for batch in sorted(present)[::4]:
            ids, docs = writer_batch(batch)
            for got, want in zip(index.get_vectors(ids[:3]), docs[:3]):
                assert got.shape == want.shape
                assert float(np.mean(np.sum(got * want, axis=1))) > 0.95  # residual4 decodes close


def test_readers_search_while_writers_write(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    with Index.open(path, fingerprint="writer", dim=64, codec="fp16", train_at=150):
        pass
    proc = _writer(path, "fp16", 0, 12)
    searches = 0
    query = writer_batch(0)[1][0][:8]
    with Index.open(path, timeout=30) as reader, Index.open(path, timeout=30) as second_writer:
        own = 100
        while proc.poll() is None:
            hits = reader.search(query, k=10)
            assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
            searches += 1
            if searches % 5 == 0 and own < 103:  # a second writer waits its turn, then commits
                ids, docs = writer_batch(own)
                second_writer.add(ids, docs, [{"batch": own}] * len(ids))
                own += 1
        assert proc.wait() == 0, proc.stderr.read() if proc.stderr else ""
        reader.check()
        batches = sorted(_batches_present(reader))
        assert batches == list(range(12)) + list(range(100, own))
        ids = [i for b in batches for i in writer_batch(b)[0]]
        docs = [d for b in batches for d in writer_batch(b)[1]]
        assert len(reader) == len(ids) == WRITER_DOCS_PER_BATCH * len(batches)
        hits = reader.search(query, k=10, nprobe=None, candidates=None)
        assert [h.id for h in hits] == [ids[i] for i in exhaustive_search(query, docs, 10)[0]]
    assert searches > 3

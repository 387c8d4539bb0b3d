"""The app around the engine: folder -> index -> search, incremental runs, CLI, HTTP API, eval, demo."""

from __future__ import annotations

import json
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from colbert_edge import engine as engine_module
from colbert_edge.cli import main
from colbert_edge.engine import Engine
from colbert_edge.errors import BundleError, NotAnIndex
from colbert_edge.eval_runner import run_eval
from colbert_edge.highlight import make_snippet, matched_spans
from colbert_edge.serve import MAX_BODY, make_server

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture()
def notes(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    (root / "travel").mkdir(parents=True)
    (root / "wifi.md").write_text("# Wifi\nThe wifi password at the cabin is ask-tom-2024.\n")
    (root / "travel" / "vuelo.txt").write_text("Mi vuelo a Lisboa sale a las 7:40 desde la terminal 2.\n")
    (root / "travel" / "long.txt").write_text("Budget line. " * 400)
    (root / "binary.md").write_bytes(b"\x00\x01\x02 not text")
    return root


@pytest.fixture()
def bundle(bundle_root: Path) -> Path:
    return bundle_root / "lfm2-fp32"


def test_folder_to_results_with_snippets(tmp_path: Path, notes: Path, bundle: Path) -> None:
    with Engine.open(tmp_path / "e.db", bundle=bundle) as engine:
        report = engine.index_paths([notes])
        assert (report.sources, report.encoded, report.unchanged) == (3, 3, 0)
        assert [Path(s.path).name for s in report.skipped] == ["binary.md"]
        assert report.passages > 3  # the long note is split into several passages
        results = engine.search("wifi password cabin", k=5)
        keys = [r.key for r in results]
        assert len(keys) == len(set(keys)) == 3  # grouped per note, not per passage
        by_key = {Path(r.key).name: r for r in results}
        wifi = by_key["wifi.md"]
        assert wifi.title == "Wifi" and wifi.kind == "note"
        assert wifi.snippet.highlights and all(0 <= s < e <= len(wifi.snippet.text) for s, e in wifi.snippet.highlights)
        assert engine.search("wifi", k=1)[0].key in keys
        assert len(engine.search("budget", k=10)) == 3


def test_incremental_runs_encode_only_what_changed(tmp_path: Path, notes: Path, bundle: Path) -> None:
    with Engine.open(tmp_path / "e.db", bundle=bundle) as engine:
        engine.index_paths([notes])
        n_docs = len(engine.index)
        again = engine.index_paths([notes])
        assert (again.encoded, again.unchanged, again.removed, again.passages) == (0, 3, 0, 0)
        assert len(engine.index) == n_docs
        (notes / "wifi.md").write_text("# Wifi\nThe new wifi password is changed.\n")
        (notes / "travel" / "long.txt").unlink()
        changed = engine.index_paths([notes])
        assert (changed.encoded, changed.unchanged, changed.removed) == (1, 1, 1)
        assert {Path(r.key).name for r in engine.search("password", k=10)} == {"wifi.md", "vuelo.txt"}
        texts = [r.metadata.get("title") for r in engine.search("changed", k=10)]
        assert "Wifi" in texts


def test_killed_run_resumes_without_redoing_finished_files(tmp_path: Path, notes: Path, bundle: Path, monkeypatch) -> None:
    for i in range(6):
        (notes / f"extra{i}.txt").write_text(f"Extra note number {i}. " * 60)
    monkeypatch.setattr(engine_module, "BATCH_PASSAGES", 1)
    real_flush = Engine._flush
    calls = {"n": 0}

    def dying_flush(self, pending):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("killed")
        return real_flush(self, pending)

    monkeypatch.setattr(Engine, "_flush", dying_flush)
    with pytest.raises(KeyboardInterrupt), Engine.open(tmp_path / "e.db", bundle=bundle) as engine:
        engine.index_paths([notes])
    monkeypatch.setattr(Engine, "_flush", real_flush)
    with Engine.open(tmp_path / "e.db") as engine:  # the bundle is remembered
        resumed = engine.index_paths([notes])
        assert resumed.unchanged == 3 and resumed.encoded == 6
        assert engine.info()["n_sources"] == 9


def test_where_filters_and_mail(tmp_path: Path, bundle: Path) -> None:
    with Engine.open(tmp_path / "e.db", bundle=bundle) as engine:
        report = engine.index_paths([SAMPLES / "notes", SAMPLES / "mail"])
        assert report.sources > 50 and not report.skipped
        mails = engine.search("invoice", k=5, where={"kind": "mail"})
        assert mails and all(r.kind == "mail" for r in mails)
        assert all(r.metadata["date"] >= "2025-01-01" for r in engine.search("meeting", k=5, where={"kind": "mail", "date": {"$gte": "2025-01-01"}}))


def test_opening_needs_a_bundle_the_first_time(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="--model"):
        Engine.open(tmp_path / "new.db")


def test_cli_index_search_info_rerank(tmp_path: Path, notes: Path, bundle: Path, capsys) -> None:
    db = str(tmp_path / "cli.db")
    assert main(["index", db, str(notes), "--model", str(bundle), "--json", "--quiet"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["encoded"] == 3 and json.loads(out.out)["skipped"] == 1
    assert "skipped" in out.err and "binary.md" in out.err
    assert main(["search", db, "wifi password", "-k", "2", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results) == 2 and {"key", "score", "snippet", "highlights"} <= set(results[0])
    assert main(["search", db, "vuelo", "--where", "kind=note", "--where", "folder=travel"]) == 0
    assert "vuelo" in capsys.readouterr().out
    assert main(["info", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_documents"] >= 3
    assert main(["rerank", str(bundle), "wifi", "the wifi password", "bread and milk", "--json"]) == 0
    ranked = json.loads(capsys.readouterr().out)
    assert [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)


@pytest.mark.parametrize("argv, message", [
    (["search", "{foreign}", "q"], "not a colbert-edge index"),
    (["search", "{missing}", "q"], "records no model bundle"),
    (["search", "{db}", "q", "--where", "nonsense"], "--where"),
    (["search", "{db}", "q", "-k", "0"], "k"),
    (["index", "{db}", "{tmp}", "--model", "{tmp}"], "no manifest.json"),
])
def test_cli_errors_are_one_line(tmp_path: Path, notes: Path, bundle: Path, capsys, argv, message) -> None:
    import sqlite3

    db = tmp_path / "ok.db"
    with Engine.open(db, bundle=bundle) as engine:
        engine.index_paths([notes / "wifi.md"])
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t(x)").connection.commit()
    names = {"foreign": foreign, "missing": tmp_path / "missing.db", "db": db, "tmp": tmp_path / "empty"}
    (tmp_path / "empty").mkdir()
    capsys.readouterr()
    assert main([a.format(**names) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("colbert-edge: error:") and message in err and len(err.strip().splitlines()) == 1


def test_foreign_file_raises_named_error(tmp_path: Path, bundle: Path) -> None:
    path = tmp_path / "x.db"
    path.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(NotAnIndex):
        Engine.open(path, bundle=bundle)


def _call(port: int, method: str, path: str, body: object | None = None, raw: bytes | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_serve_over_loopback(tmp_path: Path, notes: Path, bundle: Path) -> None:
    with Engine.open(tmp_path / "s.db", bundle=bundle) as engine:
        engine.index_paths([notes])
    server = make_server(str(tmp_path / "s.db"), port=0)
    assert server.server_address[0] == "127.0.0.1"
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        status, info = _call(port, "GET", "/info")
        assert status == 200 and info["n_sources"] == 3
        status, found = _call(port, "POST", "/search", {"query": "wifi password", "k": 2})
        assert status == 200 and len(found["results"]) == 2
        status, added = _call(port, "POST", "/add", {"documents": [{"id": "api-1", "text": "Der Zahnarzt Termin ist am Dienstag."}]})
        assert status == 200 and added["passages"] == 1
        assert "api-1" in [r["key"] for r in _call(port, "POST", "/search", {"query": "Zahnarzt Dienstag", "k": 10})[1]["results"]]
        assert _call(port, "POST", "/delete", {"ids": ["api-1"]}) == (200, {"deleted": 1})
        assert "api-1" not in [r["key"] for r in _call(port, "POST", "/search", {"query": "Zahnarzt", "k": 10})[1]["results"]]
        assert _call(port, "POST", "/search", raw=b"{not json")[0] == 400
        assert _call(port, "POST", "/search", {"query": ""})[0] == 400
        assert _call(port, "POST", "/search", {"query": "x", "k": -1})[0] == 400
        assert _call(port, "POST", "/search", {"query": "x", "where": {"bad field!": 1}})[0] == 400
        assert _call(port, "POST", "/add", raw=b"x" * (MAX_BODY + 1))[0] == 413
        assert _call(port, "GET", "/nope")[0] == 404
        assert _call(port, "GET", "/search")[0] == 405
    finally:
        server.shutdown()
        server.server_close()


def test_eval_reports_engine_and_exhaustive(bundle: Path, tmp_path: Path) -> None:
    report = run_eval(bundle, SAMPLES / "eval", k=100)
    assert report["n_queries"] >= 100 and report["n_documents"] >= 240 and report["n_centroids"] > 0
    for run in ("engine", "exhaustive"):
        assert all(0.0 <= report[run][m] <= 1.0 for m in ("ndcg10", "mrr10", "recall100"))
    # Real weights on an easy set (each query repeats its answer's words): both runs find it first.
    data = tmp_path / "beir"
    (data / "qrels").mkdir(parents=True)
    topics = ["wifi password for the cabin", "flight to Lisbon on Monday", "bread milk and eggs from the market",
              "dentist appointment on Tuesday", "invoice for website maintenance", "birthday party for grandma"]
    fillers = [f"note {i} about {w}" for i, w in enumerate(["gardening", "taxes", "music", "football", "paint", "cats"] * 10)]
    corpus = topics + fillers
    (data / "corpus.jsonl").write_text("".join(json.dumps({"_id": f"d{i}", "title": "", "text": t}) + "\n" for i, t in enumerate(corpus)))
    (data / "queries.jsonl").write_text("".join(json.dumps({"_id": f"q{i}", "text": t}) + "\n" for i, t in enumerate(topics)))
    (data / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td{i}\t1\n" for i in range(len(topics))))
    easy = run_eval(bundle.parent / "minilm-fp32", data)
    assert easy["exhaustive"]["mrr10"] == 1.0 and easy["engine"]["mrr10"] == 1.0


def test_cli_eval_prints_both_runs_and_plots(bundle: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("matplotlib", reason="--plot needs the [plot] extra")
    png = tmp_path / "eval.png"
    assert main(["eval", str(bundle), str(SAMPLES / "eval"), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "engine" in out and "exhaustive" in out and "NDCG@10" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_demo_runs_the_main_job_on_the_tiny_model(bundle_root: Path, tmp_path: Path, capsys) -> None:
    assert main(["demo", "--model", str(bundle_root / "lfm2"), "--workdir", str(tmp_path / "w"), "--precision", "fp32",
                 "--query", "wifi", "--query", "¿vuelo a Lisboa?"]) == 0
    out = capsys.readouterr().out
    assert "exporting" in out and "indexed" in out and "? ¿vuelo a Lisboa?" in out
    assert out.count("  1. ") == 2


def test_highlights_follow_the_alignment() -> None:
    q = np.eye(3, dtype=np.float32)[:2]  # query tokens point at dims 0 and 1
    d = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=np.float32)
    text = "alpha beta gamma"
    spans = matched_spans(q, d, [None, (6, 8), (11, 16)], text)
    assert spans == [(6, 10), (11, 16)]  # "be" widened to "beta"
    snippet = make_snippet("x" * 500 + " beta " + "y" * 500, [(501, 505)], width=100)
    assert snippet.text.startswith("…") and snippet.text.endswith("…")
    start, end = snippet.highlights[0]
    assert snippet.text[start:end] == "beta" and snippet.render().count("[beta]") == 1

"""colbert_edge.evaluation: metrics against hand-computed values, loader errors, samples/eval integrity."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from colbert_edge import evaluation
from colbert_edge.errors import ColbertEdgeError, InvalidArgument
from colbert_edge.evaluation import (
    BeirSet,
    Metrics,
    evaluate,
    load_beir,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
)

REPO = Path(__file__).resolve().parent.parent
SAMPLE_EVAL = REPO / "samples" / "eval"
LANGS = {"en", "ar", "zh", "fr", "de", "ja", "ko", "es"}

L2 = math.log2(3)  # discount of rank 2: log2(2 + 1) = 1.5850
L3 = 2.0  # rank 3: log2(4)
L4 = math.log2(5)  # rank 4: 2.3219


# ------------------------------------------------------------------------------------------
# nDCG


def test_ndcg_perfect_ranking_is_one() -> None:
    # ranking equals the ideal ordering (grade 2 then grade 1): DCG == IDCG
    assert ndcg_at_k(["a", "b", "x"], {"a": 2, "b": 1}) == pytest.approx(1.0)


def test_ndcg_graded_hand_computed() -> None:
    # ranking x, b, y, a with qrels a=2, b=1
    # DCG  = 0/1 + 1/log2(3) + 0/2 + 2/log2(5) = 0.63093 + 0.86135 = 1.49228
    # IDCG = 2/1 + 1/log2(3)                   = 2 + 0.63093       = 2.63093
    # nDCG = 1.49228 / 2.63093 = 0.56721
    got = ndcg_at_k(["x", "b", "y", "a"], {"a": 2, "b": 1}, k=10)
    assert got == pytest.approx((1 / L2 + 2 / L4) / (2 + 1 / L2))
    assert got == pytest.approx(0.56721, abs=1e-5)


def test_ndcg_cut_at_k() -> None:
    # k=2 keeps x, b: DCG = 1/log2(3) = 0.63093; IDCG (top 2 of grades 2, 1) = 2.63093 -> 0.23981
    assert ndcg_at_k(["x", "b", "y", "a"], {"a": 2, "b": 1}, k=2) == pytest.approx(0.23981, abs=1e-5)


def test_ndcg_ideal_is_cut_at_k_too() -> None:
    # three relevant (grade 1), k=1, the first is relevant: DCG = 1, IDCG@1 = 1 -> 1.0
    assert ndcg_at_k(["a"], {"a": 1, "b": 1, "c": 1}, k=1) == pytest.approx(1.0)


def test_ndcg_nothing_relevant_retrieved_is_zero() -> None:
    assert ndcg_at_k(["x", "y"], {"a": 2}) == 0.0


def test_ndcg_no_relevant_in_qrels_is_zero() -> None:
    # only a grade-0 judgement: IDCG would be 0, we define the score as 0
    assert ndcg_at_k(["a"], {"a": 0}) == 0.0


def test_ndcg_k_larger_than_ranking() -> None:
    # ranking shorter than k: only b at rank 1 counts, DCG = 1; IDCG = 2 + 1/log2(3) = 2.63093 -> 0.38009
    assert ndcg_at_k(["b"], {"a": 2, "b": 1}, k=100) == pytest.approx(1 / (2 + 1 / L2))


def test_ndcg_duplicates_count_once() -> None:
    # a, a, b -> a, b: DCG = 2/1 + 1/log2(3) = IDCG -> 1.0 (a repeated "a" would push past 1.0)
    assert ndcg_at_k(["a", "a", "b"], {"a": 2, "b": 1}) == pytest.approx(1.0)
    # x, x, x, a with k=2 -> unique top 2 is x, a: DCG = 2/log2(3); IDCG = 2 -> 0.63093
    assert ndcg_at_k(["x", "x", "x", "a"], {"a": 2}, k=2) == pytest.approx(1 / L2)


# ------------------------------------------------------------------------------------------
# MRR and recall


@pytest.mark.parametrize(
    ("ranked", "relevant", "k", "expected"),
    [
        (["a", "b"], {"a"}, 10, 1.0),  # rank 1
        (["x", "a"], {"a", "b"}, 10, 0.5),  # first relevant at rank 2
        (["x", "y", "z", "b"], {"a", "b"}, 10, 0.25),  # rank 4
        (["x", "y", "z", "b"], {"a", "b"}, 3, 0.0),  # rank 4 > k
        (["x", "y"], {"a"}, 10, 0.0),  # nothing relevant retrieved
        (["x", "x", "a"], {"a"}, 10, 0.5),  # duplicate x ignored: a is at rank 2
        (["x", "a"], {"a": 1, "x": 0}, 10, 0.5),  # mapping: grade 0 is not relevant
        ([], {"a"}, 10, 0.0),  # empty ranking
    ],
)
def test_mrr(ranked: list[str], relevant: object, k: int, expected: float) -> None:
    assert mrr_at_k(ranked, relevant, k=k) == pytest.approx(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ranked", "relevant", "k", "expected"),
    [
        (["a", "x", "b"], {"a", "b"}, 100, 1.0),  # 2 of 2
        (["a", "x", "b"], {"a", "b"}, 2, 0.5),  # only a in top 2: 1/2
        (["a", "b", "c"], {"a", "d", "e"}, 100, 1 / 3),  # 1 of 3, k > len(ranking)
        (["x"], {"a"}, 100, 0.0),  # none
        (["a", "a", "a", "b"], {"a", "b"}, 2, 1.0),  # duplicates collapse: top 2 is a, b
        (["a"], set(), 100, 0.0),  # nothing relevant at all
    ],
)
def test_recall(ranked: list[str], relevant: set[str], k: int, expected: float) -> None:
    assert recall_at_k(ranked, relevant, k=k) == pytest.approx(expected)


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
@pytest.mark.parametrize("metric", [ndcg_at_k, mrr_at_k, recall_at_k])
def test_bad_k_is_refused(metric: object, k: object) -> None:
    with pytest.raises(InvalidArgument, match="k must be a positive integer"):
        metric(["a"], {"a": 1}, k=k)  # type: ignore[operator]


def test_a_bare_string_is_not_a_list_of_ids() -> None:
    # "abc" would otherwise be read as the ids "a", "b", "c"
    with pytest.raises(InvalidArgument, match="wrap it in a list"):
        mrr_at_k("abc", {"a"})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="got the string 'a'"):
        recall_at_k(["a"], "a")


# ------------------------------------------------------------------------------------------
# evaluate


def test_evaluate_hand_computed() -> None:
    qrels = {"q1": {"d1": 2, "d2": 1}, "q2": {"d3": 1}, "q3": {"d4": 1}, "q4": {"d5": 0}}
    run = {
        "q1": ["d2", "d1"],  # DCG = 1 + 2/log2(3) = 2.26186; IDCG = 2.63093 -> 0.85972; MRR 1; recall 1
        "q2": ["d9", "d8", "d3"],  # DCG = 1/2; IDCG = 1 -> 0.5; MRR 1/3; recall 1
        # q3 missing from the run -> 0, 0, 0
        "q9": ["d1"],  # not in qrels: ignored
    }
    # q4 has no relevant document: not counted. Means over 3 queries:
    # nDCG = (0.85972 + 0.5 + 0) / 3 = 0.45324; MRR = (1 + 1/3 + 0) / 3 = 0.44444; recall = 2/3
    got = evaluate(run, qrels)
    assert got == Metrics(ndcg10=0.4532, mrr10=0.4444, recall100=0.6667, n_queries=3)


def test_evaluate_uses_cutoffs_10_and_100() -> None:
    filler = [f"x{i}" for i in range(50)]
    # relevant document at rank 51: outside @10 (nDCG, MRR 0) but inside @100 (recall 1)
    assert evaluate({"q": filler + ["d"]}, {"q": {"d": 1}}) == Metrics(0.0, 0.0, 1.0, 1)


def test_evaluate_without_relevant_documents_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="no query with a relevant document"):
        evaluate({"q": ["a"]}, {"q": {"a": 0}})


# ------------------------------------------------------------------------------------------
# loader


def _write_beir(root: Path, corpus: str | None = None, queries: str | None = None, qrels: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "qrels").mkdir(exist_ok=True)
    if corpus is None:
        corpus = (
            '{"_id": "d1", "title": "Wifi", "text": "Le mot de passe est bleu42.", "metadata": {"lang": "fr"}}\n'
            '\n'  # blank lines are allowed
            '{"_id": "d2", "text": "Flug nach Rom am Montag."}\n'
        )
    if queries is None:
        queries = '{"_id": "q1", "text": "wifi password", "metadata": {"lang": "en", "cross_lingual": true}}\n'
    if qrels is None:
        qrels = "query-id\tcorpus-id\tscore\nq1\td1\t2\n"
    (root / "corpus.jsonl").write_text(corpus, encoding="utf-8")
    (root / "queries.jsonl").write_text(queries, encoding="utf-8")
    (root / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")
    return root


def test_load_beir_reads_a_small_folder(tmp_path: Path) -> None:
    beir = load_beir(_write_beir(tmp_path / "b"))
    assert isinstance(beir, BeirSet)
    assert beir.corpus["d1"] == ("Wifi", "Le mot de passe est bleu42.", {"lang": "fr"})
    assert beir.corpus["d2"].title == "" and beir.corpus["d2"].metadata == {}
    assert beir.queries["q1"].text == "wifi password"
    assert beir.queries["q1"].metadata["cross_lingual"] is True
    assert beir.qrels == {"q1": {"d1": 2}}
    with pytest.raises(AttributeError):
        beir.corpus = {}  # type: ignore[misc]  # frozen


@pytest.mark.parametrize(
    ("kwargs", "where", "what"),
    [
        ({"corpus": '{"_id": "d1", "text": "a"}\n{"_id": "d2", "text": \n'}, "corpus.jsonl:2", "not valid JSON"),
        ({"corpus": '["d1", "a"]\n'}, "corpus.jsonl:1", "expected a JSON object"),
        ({"corpus": '{"text": "no id"}\n'}, "corpus.jsonl:1", "'_id' must be a non-empty string"),
        ({"corpus": '{"_id": "d1", "text": 3}\n'}, "corpus.jsonl:1", "'text' must be a string"),
        ({"corpus": '{"_id": "d1", "text": "a"}\n{"_id": "d1", "text": "b"}\n'},
         "corpus.jsonl:2", "duplicate document id 'd1'"),
        ({"corpus": '{"_id": "d1", "text": "a", "metadata": [1]}\n'},
         "corpus.jsonl:1", "'metadata' must be a JSON object"),
        ({"queries": '{"_id": "q1", "text": "a"}\n{"_id": "q1", "text": "b"}\n'},
         "queries.jsonl:2", "duplicate query id"),
        ({"qrels": "q1\td1\t1\n"}, "test.tsv:1", "expected the header"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\n"}, "test.tsv:2", "expected 3 tab-separated fields"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\thigh\n"}, "test.tsv:2", "score 'high' is not an integer"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq7\td1\t1\n"},
         "test.tsv:3", "query id 'q7' is not in queries.jsonl"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1\td9\t1\n"}, "test.tsv:2", "corpus id 'd9' is not in corpus.jsonl"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td1\t2\n"}, "test.tsv:3", "judged twice"),
    ],
)
def test_load_beir_malformed_names_file_and_line(tmp_path: Path, kwargs: dict[str, str], where: str, what: str) -> None:
    root = _write_beir(tmp_path / "b", **kwargs)
    with pytest.raises(InvalidArgument) as info:
        load_beir(root)
    message = str(info.value)
    assert where in message and what in message
    assert isinstance(info.value, ColbertEdgeError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("missing", ["corpus.jsonl", "queries.jsonl", "qrels/test.tsv"])
def test_load_beir_missing_file(tmp_path: Path, missing: str) -> None:
    root = _write_beir(tmp_path / "b")
    (root / missing).unlink()
    with pytest.raises(InvalidArgument, match=f"{missing.split('/')[-1]}: file not found"):
        load_beir(root)


def test_load_beir_missing_folder_and_split(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="not a folder"):
        load_beir(tmp_path / "nowhere")
    with pytest.raises(InvalidArgument, match="dev.tsv: file not found"):
        load_beir(_write_beir(tmp_path / "b"), split="dev")


def test_load_beir_not_utf8(tmp_path: Path) -> None:
    root = _write_beir(tmp_path / "b")
    (root / "corpus.jsonl").write_bytes('{"_id": "d1", "text": "crème"}\n'.encode("latin-1"))
    with pytest.raises(InvalidArgument, match="corpus.jsonl: not UTF-8"):
        load_beir(root)


def test_docstring_examples_hold() -> None:
    # the doctests are the hand-checkable contract of the module: they must not drift from the code
    import doctest

    result = doctest.testmod(evaluation)
    assert result.attempted >= 5 and result.failed == 0


def test_public_surface() -> None:
    assert set(evaluation.__all__) == {
        "BeirSet", "Document", "Query", "Metrics", "load_beir", "ndcg_at_k", "mrr_at_k", "recall_at_k", "evaluate",
    }


# ------------------------------------------------------------------------------------------
# samples/eval: the project's own evaluation set


@pytest.fixture(scope="module")
def sample_set() -> BeirSet:
    return load_beir(SAMPLE_EVAL)


def test_sample_eval_files_are_strict_utf8_json_lines() -> None:
    for name in ("corpus.jsonl", "queries.jsonl"):
        raw = (SAMPLE_EVAL / name).read_bytes()
        raw.decode("utf-8")  # raises if not UTF-8
        lines = raw.decode("utf-8").split("\n")
        assert lines[-1] == "" and all(lines[:-1]), f"{name}: one object per line, no blank lines, final newline"
        for line in lines[:-1]:
            assert isinstance(json.loads(line), dict)


def test_sample_eval_counts_and_languages(sample_set: BeirSet) -> None:
    corpus, queries, qrels = sample_set.corpus, sample_set.queries, sample_set.qrels
    assert 240 <= len(corpus) <= 320
    assert 90 <= len(queries) <= 120
    per_lang = Counter(d.metadata["lang"] for d in corpus.values())
    assert set(per_lang) == LANGS
    # roughly balanced: no language has fewer than 70% of an equal share
    assert min(per_lang.values()) >= 0.7 * len(corpus) / len(LANGS)
    assert {d.metadata["kind"] for d in corpus.values()} == {"note", "mail"}
    assert {q.metadata["lang"] for q in queries.values()} == LANGS
    assert {q.metadata["answer_lang"] for q in queries.values()} == LANGS
    for doc_id, doc in corpus.items():
        assert doc.text.strip() and doc.title.strip(), doc_id


def test_sample_eval_ids_consistent(sample_set: BeirSet) -> None:
    corpus, queries, qrels = sample_set.corpus, sample_set.queries, sample_set.qrels
    assert set(qrels) == set(queries), "every query is judged and every judged query exists"
    for query_id, judged in qrels.items():
        assert 1 <= len(judged) <= 3, query_id
        assert set(judged.values()) <= {1, 2}, query_id
        assert 2 in judged.values(), f"{query_id}: needs one fully relevant document"
        assert set(judged) <= set(corpus)
        # answer_lang is the language of the grade-2 document(s)
        best_langs = {corpus[d].metadata["lang"] for d, g in judged.items() if g == 2}
        assert queries[query_id].metadata["answer_lang"] in best_langs, query_id


def test_sample_eval_cross_lingual_share(sample_set: BeirSet) -> None:
    queries = sample_set.queries
    flags = [q.metadata["cross_lingual"] for q in queries.values()]
    for query_id, q in queries.items():
        assert q.metadata["cross_lingual"] == (q.metadata["lang"] != q.metadata["answer_lang"]), query_id
    assert sum(flags) >= 0.4 * len(flags)
    assert sum(flags) <= 0.6 * len(flags)


def test_sample_eval_perfect_and_empty_runs(sample_set: BeirSet) -> None:
    qrels = sample_set.qrels
    perfect = {q: sorted(judged, key=lambda d: -judged[d]) for q, judged in qrels.items()}
    assert evaluate(perfect, qrels) == Metrics(1.0, 1.0, 1.0, len(qrels))
    assert evaluate({}, qrels) == Metrics(0.0, 0.0, 0.0, len(qrels))


# ------------------------------------------------------------------------------------------
# samples/notes and samples/mail: the demo folder stays what samples/README.md says it is

SAMPLES = REPO / "samples"


def _messages() -> list[tuple[str, bytes]]:
    import mailbox

    box = mailbox.mbox(str(SAMPLES / "mail" / "inbox.mbox"), create=False)
    found = [(f"inbox.mbox#{key}", box.get_bytes(key)) for key in box.keys()]
    for sub in ("cur", "new"):
        folder = SAMPLES / "mail" / "Maildir" / sub
        found += [(f"Maildir/{sub}/{p.name}", p.read_bytes()) for p in sorted(folder.iterdir())]
    found += [(p.name, p.read_bytes()) for p in sorted((SAMPLES / "mail").glob("*.eml"))]
    return found


def test_sample_notes_formats_and_folders() -> None:
    notes = [p for p in (SAMPLES / "notes").rglob("*") if p.is_file()]
    assert len(notes) >= 30
    assert {p.suffix for p in notes} == {".md", ".txt", ".org", ".rst", ".html"}
    assert {"recipes", "travel", "office"} <= {p.parent.name for p in notes}
    for p in notes:
        assert p.read_bytes().decode("utf-8").strip(), p


def test_sample_mail_headers_charsets_and_parts() -> None:
    from email import message_from_bytes, policy

    messages = _messages()
    assert len(messages) == 15 + 6 + 2
    charsets: set[str] = set()
    html = attachments = 0
    for where, raw in messages:
        msg = message_from_bytes(raw, policy=policy.default)
        for header in ("Date", "From", "To", "Subject", "Message-ID"):
            assert msg[header], f"{where}: no {header}"
        assert msg["Date"].datetime is not None, where
        if any(ord(c) > 127 for c in str(msg["Subject"])):
            assert b"=?" in raw.split(b"\n\n", 1)[0], f"{where}: non-ASCII subject must be an RFC 2047 encoded-word"
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                charsets.add(part.get_content_charset())
                html += part.get_content_type() == "text/html"
            attachments += part.is_attachment()
        assert msg.get_body(("plain",)).get_content().strip(), where
    assert charsets == {"utf-8", "iso-8859-1"}
    assert html >= 4 and attachments == 1
    assert [p.name for p in (SAMPLES / "mail" / "Maildir" / "tmp").iterdir()] == [".gitkeep"]

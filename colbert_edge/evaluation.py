"""Retrieval evaluation: read a BEIR folder, score a run with nDCG@10, MRR@10 and Recall@100.

Contract:

- :func:`load_beir` reads the BEIR layout (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``)
  into a :class:`BeirSet`. Any missing file, line that does not parse, duplicate id, or qrels line
  naming an unknown query or document raises :class:`~colbert_edge.errors.InvalidArgument` with the
  file and line number in the message.
- The metric functions are pure (stdlib only) and follow the usual IR definitions
  (pytrec_eval / BEIR): linear graded gains, a ``log2(rank + 1)`` discount, the ideal ranking
  built from the qrels. A document id repeated in a ranking counts only at its first position.
  Grades ``<= 0`` mean "judged, not relevant".
- :func:`evaluate` averages over the queries of the qrels that have at least one relevant
  document; a query the run does not answer scores 0 on every metric.

Example (every number checkable by hand)::

    >>> qrels = {"q1": {"d1": 2}, "q2": {"d3": 1, "d4": 1}}
    >>> run = {"q1": ["d9", "d1"], "q2": ["d3"]}
    >>> evaluate(run, qrels)
    Metrics(ndcg10=0.622, mrr10=0.75, recall100=0.75, n_queries=2)

(q1: nDCG = (2/log2 3)/2 = 0.6309, MRR = 1/2, recall = 1; q2: nDCG = 1/(1 + 1/log2 3) = 0.6131,
MRR = 1, recall = 1/2; the means 0.6220, 0.75, 0.75 are rounded to 4 places.)
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from colbert_edge.errors import InvalidArgument

__all__ = [
    "BeirSet",
    "Document",
    "Query",
    "Metrics",
    "load_beir",
    "ndcg_at_k",
    "mrr_at_k",
    "recall_at_k",
    "evaluate",
]

QRELS_HEADER = ("query-id", "corpus-id", "score")


class Document(NamedTuple):
    """One corpus entry: ``title`` may be empty; ``metadata`` is the JSON object of the line or ``{}``."""

    title: str
    text: str
    metadata: dict[str, Any]


class Query(NamedTuple):
    """One query: its text and the JSON ``metadata`` object of the line (or ``{}``)."""

    text: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class BeirSet:
    """A loaded BEIR folder.

    ``corpus``: doc id -> Document; ``queries``: query id -> Query;
    ``qrels``: query id -> {doc id: grade}. Every id in ``qrels`` exists in ``corpus``/``queries``.
    """

    corpus: dict[str, Document]
    queries: dict[str, Query]
    qrels: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Metrics:
    """Mean metrics over ``n_queries`` judged queries; values rounded to 4 decimals."""

    ndcg10: float
    mrr10: float
    recall100: float
    n_queries: int


# --------------------------------------------------------------------------------------------
# loading


def _read_utf8(path: Path) -> str:
    """The text of ``path``; a missing or non-UTF-8 file is an :class:`InvalidArgument` naming it."""
    if not path.is_file():
        raise InvalidArgument(f"{path}: file not found; a BEIR folder needs corpus.jsonl, queries.jsonl "
                              "and qrels/<split>.tsv")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start}); "
                              "re-save the file as UTF-8") from None


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for every non-blank line of a JSON-lines file."""
    text = _read_utf8(path)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"{path}:{number}: not valid JSON ({exc.msg}); "
                                  "each line must be one JSON object") from None
        if not isinstance(obj, dict):
            raise InvalidArgument(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}")
        yield number, obj


def _field(obj: Mapping[str, Any], key: str, where: str, *, required: bool) -> str:
    """A string field of a JSON line; ``_id`` must also be non-empty, optional fields default to ""."""
    value = obj.get(key, None if required else "")
    if not isinstance(value, str) or (key == "_id" and not value):
        raise InvalidArgument(f"{where}: field {key!r} must be a {'non-empty ' if key == '_id' else ''}string, "
                              f"got {value!r}")
    return value


def _metadata(obj: Mapping[str, Any], where: str) -> dict[str, Any]:
    value = obj.get("metadata", {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"{where}: field 'metadata' must be a JSON object, got {type(value).__name__}")
    return value


def _load_corpus(path: Path) -> dict[str, Document]:
    corpus: dict[str, Document] = {}
    for number, obj in _json_lines(path):
        where = f"{path}:{number}"
        doc_id = _field(obj, "_id", where, required=True)
        if doc_id in corpus:
            raise InvalidArgument(f"{where}: duplicate document id {doc_id!r}; ids must be unique")
        corpus[doc_id] = Document(_field(obj, "title", where, required=False),
                                  _field(obj, "text", where, required=True), _metadata(obj, where))
    return corpus


def _load_queries(path: Path) -> dict[str, Query]:
    queries: dict[str, Query] = {}
    for number, obj in _json_lines(path):
        where = f"{path}:{number}"
        query_id = _field(obj, "_id", where, required=True)
        if query_id in queries:
            raise InvalidArgument(f"{where}: duplicate query id {query_id!r}; ids must be unique")
        queries[query_id] = Query(_field(obj, "text", where, required=True), _metadata(obj, where))
    return queries


def _load_qrels(path: Path, corpus: Mapping[str, Document], queries: Mapping[str, Query]) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    lines = _read_utf8(path).splitlines()
    if not lines or tuple(lines[0].split("\t")) != QRELS_HEADER:
        raise InvalidArgument(f"{path}:1: expected the header {chr(9).join(QRELS_HEADER)!r} (tab-separated)")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        where = f"{path}:{number}"
        if len(fields) != 3:
            raise InvalidArgument(f"{where}: expected 3 tab-separated fields (query-id, corpus-id, score), "
                                  f"got {len(fields)}")
        query_id, doc_id, score = fields
        try:
            grade = int(score)
        except ValueError:
            raise InvalidArgument(f"{where}: score {score!r} is not an integer") from None
        if query_id not in queries:
            raise InvalidArgument(f"{where}: query id {query_id!r} is not in queries.jsonl")
        if doc_id not in corpus:
            raise InvalidArgument(f"{where}: corpus id {doc_id!r} is not in corpus.jsonl")
        judged = qrels.setdefault(query_id, {})
        if doc_id in judged:
            raise InvalidArgument(f"{where}: pair ({query_id!r}, {doc_id!r}) is judged twice")
        judged[doc_id] = grade
    return qrels


def load_beir(folder: str | Path, split: str = "test") -> BeirSet:
    """Read ``folder/corpus.jsonl``, ``folder/queries.jsonl`` and ``folder/qrels/<split>.tsv``.

    Raises :class:`InvalidArgument` naming the file (and line) for a missing file, bad JSON,
    a missing ``_id``/``text``, a duplicate id, a bad qrels header/score, or an unknown id in qrels.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InvalidArgument(f"{root}: not a folder; pass the folder that holds corpus.jsonl, "
                              "queries.jsonl and qrels/")
    corpus = _load_corpus(root / "corpus.jsonl")
    queries = _load_queries(root / "queries.jsonl")
    qrels = _load_qrels(root / "qrels" / f"{split}.tsv", corpus, queries)
    return BeirSet(corpus=corpus, queries=queries, qrels=qrels)


# --------------------------------------------------------------------------------------------
# metrics


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise InvalidArgument(f"k must be a positive integer, got {k!r}")


def _top_unique(ranked_ids: Iterable[str], k: int) -> list[str]:
    """The first ``k`` distinct ids of a ranking, in order (a repeat counts only where first seen)."""
    if isinstance(ranked_ids, str):
        raise InvalidArgument(f"ranked_ids must be a sequence of document ids, got the string {ranked_ids!r}; "
                              "wrap it in a list")
    seen: set[str] = set()
    top: list[str] = []
    for doc_id in ranked_ids:
        if doc_id not in seen:
            seen.add(doc_id)
            top.append(doc_id)
            if len(top) == k:
                break
    return top


def _relevant_set(relevant: Mapping[str, int] | Collection[str]) -> set[str]:
    if isinstance(relevant, str):
        raise InvalidArgument(f"relevant must be a set of ids or an id -> grade mapping, got the string {relevant!r}")
    if isinstance(relevant, Mapping):
        return {doc_id for doc_id, grade in relevant.items() if grade > 0}
    return set(relevant)


def ndcg_at_k(ranked_ids: Sequence[str], qrels_for_query: Mapping[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the top ``k`` of a ranking.

    DCG = sum over ranks r = 1..k of grade(doc at r) / log2(r + 1); the ideal DCG sorts the
    positive grades of ``qrels_for_query`` in decreasing order. 0.0 when nothing is relevant.

    >>> # DCG = 0/log2(2) + 2/log2(3) + 1/log2(4) = 1.2619 + 0.5; IDCG = 2/1 + 1/log2(3) = 2.6309
    >>> round(ndcg_at_k(["a", "b", "c"], {"b": 2, "c": 1}, k=3), 4)
    0.6697
    """
    _check_k(k)
    gains = [g for g in qrels_for_query.values() if g > 0]
    if not gains:
        return 0.0
    dcg = sum(max(qrels_for_query.get(d, 0), 0) / math.log2(r + 2) for r, d in enumerate(_top_unique(ranked_ids, k)))
    ideal = sorted(gains, reverse=True)[:k]
    idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
    return dcg / idcg


def mrr_at_k(ranked_ids: Sequence[str], relevant: Mapping[str, int] | Collection[str], k: int = 10) -> float:
    """Reciprocal rank of the first relevant id among the top ``k`` (0.0 if none).

    ``relevant`` is a set of ids, or a qrels mapping (ids with grade > 0 count).

    >>> mrr_at_k(["x", "y", "b"], {"b"}, k=10)  # first relevant at rank 3 -> 1/3
    0.3333333333333333
    >>> mrr_at_k(["x", "y", "b"], {"b"}, k=2)   # rank 3 is beyond k
    0.0
    """
    _check_k(k)
    wanted = _relevant_set(relevant)
    for rank, doc_id in enumerate(_top_unique(ranked_ids, k), start=1):
        if doc_id in wanted:
            return 1.0 / rank
    return 0.0


def recall_at_k(ranked_ids: Sequence[str], relevant: Mapping[str, int] | Collection[str], k: int = 100) -> float:
    """Share of the relevant ids found in the top ``k`` (0.0 when nothing is relevant).

    >>> recall_at_k(["a", "x", "b"], {"a", "b", "c", "d"}, k=2)  # only "a" in the top 2 -> 1/4
    0.25
    """
    _check_k(k)
    wanted = _relevant_set(relevant)
    if not wanted:
        return 0.0
    return len(wanted.intersection(_top_unique(ranked_ids, k))) / len(wanted)


def evaluate(run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]) -> Metrics:
    """Mean nDCG@10, MRR@10 and Recall@100 of ``run`` (query id -> ranked doc ids, best first).

    Averages over the queries of ``qrels`` with at least one relevant document; a query absent
    from ``run`` scores 0. Queries of ``run`` that are not in ``qrels`` are ignored.
    Raises :class:`InvalidArgument` when no query of ``qrels`` has a relevant document.

    >>> evaluate({"q1": ["d2", "d1"]}, {"q1": {"d1": 1}, "q2": {"d5": 2}})  # q2 unanswered: 0
    Metrics(ndcg10=0.3155, mrr10=0.25, recall100=0.5, n_queries=2)
    """
    judged = [q for q, grades in qrels.items() if any(g > 0 for g in grades.values())]
    if not judged:
        raise InvalidArgument("qrels has no query with a relevant document (grade > 0); nothing to evaluate")
    ndcg = mrr = recall = 0.0
    for query_id in judged:
        ranked = run.get(query_id, ())
        ndcg += ndcg_at_k(ranked, qrels[query_id], k=10)
        mrr += mrr_at_k(ranked, qrels[query_id], k=10)
        recall += recall_at_k(ranked, qrels[query_id], k=100)
    n = len(judged)
    return Metrics(ndcg10=round(ndcg / n, 4), mrr10=round(mrr / n, 4), recall100=round(recall / n, 4), n_queries=n)

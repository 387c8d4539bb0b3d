"""Golden files for the Java side of android_demo: the Python runtime's and index's answers.

``python android_demo/golden/make_golden.py OUT_DIR BUNDLES_DIR`` (workstation venv, after
``tests/bundles.py BUNDLES_DIR``) writes under OUT_DIR:

- ``index-residual4.db``: ``samples/notes`` + ``samples/mail`` indexed by the Engine with the tiny
  LFM2 bundle (``BUNDLES_DIR/lfm2-fp32``), ``train_at=16`` so centroids, postings and residual4
  BLOBs exist; ``index-fp16.db``: the same with the fp16 codec; ``index-untrained.db``: the fp16
  index's documents in an index below its ``train_at`` (no centroids: exhaustive search).
- ``tokenizer-split-regex.json``: a byte-level BPE trained on the sample texts with a Split-regex
  pre-tokenizer and ignore_merges (components the two bundles' tokenizers do not use).
- ``golden.json``::

    {"bundles": {"lfm2-fp32": "/abs/bundle", "minilm-fp32": "/abs/bundle"},
     "queries": ["...", ...],
     "tokens": {"lfm2-fp32": [{"ids": [...], "mask": [...]}, ...], "minilm-fp32": [...]},
     "texts": ["...", ...],   # every passage of the index + samples/eval queries + "queries"
     "tokenizer_files": {"lfm2-fp32": "/abs/tokenizer.json", "minilm-fp32": ..., "split-regex": ...},
     "text_ids": {"lfm2-fp32": [[...], ...], ...},  # each tokenizer.json alone on "texts",
                                                # special tokens added, no truncation
     "query_vectors": {"lfm2-fp32": [[[f32 x dim] x query_length], ...]},  # Python runtime, ONNX
     "indexes": {"residual4": {"file": "index-residual4.db",
                  "documents": [{"id": ..., "vectors": [[...]]}, ...],     # decoded by Python
                  "searches": [{"nprobe": 2, "candidates": 12,               # null = all
                                "exact_tokens": 2000, "k": 10,               # null = no token fill
                                "results": [[{"id": ..., "score": ...}], ...],  # one list per query
                                "stages": [{...}, ...]}, ...]},              # one per query
                 "fp16": {...}, "untrained": {...}}}

``stages[i]`` is ``{"exhaustive": true}`` for the untrained index; otherwise it records what
``Index.search`` computed for query i, caught while it ran (the golden writer wraps
``PostingLists.approximate``, ``searcher.centroid_interaction`` and ``searcher.exact_scores``; it
does not re-implement the search): ``probe`` (centroids probed per token, after any growth),
``ids`` / ``approx`` (the candidates, ascending doc_no, and their centroid-level approximate
scores), ``interaction_ids`` / ``interaction_tokens`` / ``interaction`` (the documents that reached
the centroid-interaction stage, their ``n_tokens`` and scores) and ``exact_ids`` (the documents the
cut kept for exact MaxSim, ascending doc_no: ``candidates``, or more while they fit
``exact_tokens``) -- these four absent when the search had no cut --, ``ties`` (``"approximate"``
/ ``"interaction"``: that cut had a near-tie within 1e-4 at its boundary, or, with a token budget,
between the first two documents it left out; numpy's argpartition picks among tied documents
arbitrarily at the approximation cut, and float rounding may order near-tied interaction scores
either way, so the Java test compares those stages' scores but not the kept documents or the
final top k) and ``probe_margin`` (smallest gap, over the query's tokens, between the last probed
centroid's score and the next one's; null when every centroid is probed: below float noise FAISS
and Java may probe different centroids). Every value is exactly what the Python package returns;
the Java tests compare against it. ``main`` prints, per setting with a cut, how many documents
the exact stage scored, and stops if no setting's token fill kept more than ``candidates``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from colbert_edge.edge_index import Index, searcher
from colbert_edge.engine import Engine
from colbert_edge.runtime import Encoder
from colbert_edge.runtime.manifest import read_manifest
from colbert_edge.runtime.tokenization import ContractTokenizer
from tokenizers import Tokenizer

REPO = Path(__file__).resolve().parents[2]
TRAIN_AT = 16
SEARCHES = [
    # both cuts: approximation to 48, interaction to exactly 12
    {"nprobe": 2, "candidates": 12, "exact_tokens": None, "k": 10},
    # the same, and the token fill keeps more than 12 of the 48 (the sample passages are short)
    {"nprobe": 2, "candidates": 12, "exact_tokens": 2000, "k": 10},
    {"nprobe": 16, "candidates": 32, "exact_tokens": 4000, "k": 10},
    # Python's defaults: 4 * 256 > all documents, so only the interaction cut, and every candidate fits
    {"nprobe": 4, "candidates": 256, "exact_tokens": 65536, "k": 10},
    {"nprobe": None, "candidates": None, "exact_tokens": None, "k": 10},
]
QUERIES = [
    "where is the wifi password?",                       # en
    "flight to Seoul booking code",                      # en
    "¿Cuándo es la mudanza?",                             # es
    "receta de paella valenciana",                       # es
    "Termin beim Zahnarzt",                               # de
    "Käsespätzle Rezept für vier Personen",               # de
    "compte rendu du comité de pilotage",                 # fr
    "rendez-vous médicaux à Paris",                       # fr
    "周会 会议纪要",                                        # zh
    "红烧肉怎么做",                                         # zh
    "京都の定例会議",                                       # ja
    "肉じゃがのレシピ",                                     # ja
    "병원 예약 시간",                                       # ko
    "보일러 수리",                                          # ko
    "اجتماع المبيعات",                                     # ar
    "قائمة الانتقال إلى الشقة الجديدة",                     # ar
    "emoji 🙂🚀 party 🎉 and ZWJ 👩‍👩‍👧",                        # emoji, astral plane
    "",                                                  # empty
    "  \t\u00a0 ",                                       # whitespace only (NBSP counts as space)
    "Ünïcödé ÀÉÎÕÜ café NAÏVE straße İstanbul ΣΊΣΥΦΟΣ",  # accents, case (minilm lower-cases)
    "tabs\tand\nnew lines\r\nand control \x00\x07 chars",
    " ".join(["very long query about budgets flights passports and meetings"] * 30),
    "[Q] typed prefix [D] and <|im_end|> [MASK] [SEP] tokens",  # added tokens inside the text
    "हिन्दी में नमस्ते, ภาษาไทย, Ελληνικά ς",               # spacing marks (Mc), Thai, final sigma
]


def vectors_list(array: np.ndarray) -> list[list[float]]:
    return [[float(x) for x in row] for row in np.asarray(array, dtype=np.float32)]


def tokens_of(bundle: Path) -> list[dict[str, list[int]]]:
    manifest = read_manifest(bundle)
    tokenizer = ContractTokenizer.from_file(bundle / "tokenizer.json", manifest.contract)
    out = []
    for query in QUERIES:
        batch = tokenizer.encode([query], is_query=True)
        out.append({"ids": batch.input_ids[0].tolist(), "mask": batch.attention_mask[0].tolist()})
    return out


def _tie_at(scores: np.ndarray, n: int, filled: bool = False) -> bool:
    """Whether keeping the ``n`` best of ``scores`` splits a near-tie (within 1e-4); with ``filled``
    (a token budget ended the cut) also whether the first two left out are near-tied, since which of
    them comes first decides whether one more document fits."""
    gaps = -np.diff(np.sort(scores)[::-1])  # (len - 1,): gaps[i] between the i-th and (i+1)-th best
    return any(i < len(gaps) and gaps[i] < 1e-4 for i in ([n - 1, n] if filled else [n - 1]))


def search_recorded(index: Index, query: np.ndarray, setting: dict, id_of: dict[int, str]) -> tuple[list, dict]:
    """``index.search`` for one query, with the stages it computed (see the module docstring)."""
    state = index._state  # the golden writer looks inside on purpose: the stages are not public
    knobs = {key: setting[key] for key in ("k", "nprobe", "candidates", "exact_tokens")}
    if state.postings is None:  # untrained: every document is scored exactly
        hits = index.search(query, **knobs)
        return [{"id": h.id, "score": h.score} for h in hits], {"exhaustive": True, "ties": []}
    calls: dict[str, tuple] = {}
    approximate = state.postings.approximate
    interaction = searcher.centroid_interaction
    exact_scores = searcher.exact_scores

    def spy_approximate(probe_scores, probe_ids, allowed):
        out = approximate(probe_scores, probe_ids, allowed)
        calls["approximate"] = (probe_ids.shape[1], out)
        return out

    def spy_interaction(conn, st, q, doc_nos):
        out = interaction(conn, st, q, doc_nos)
        calls["interaction"] = out
        return out

    def spy_exact(conn, st, q, doc_nos, k):
        calls["exact"] = doc_nos
        return exact_scores(conn, st, q, doc_nos, k)

    state.postings.approximate = spy_approximate
    searcher.centroid_interaction = spy_interaction
    searcher.exact_scores = spy_exact
    try:
        hits = index.search(query, **knobs)
    finally:
        del state.postings.approximate
        searcher.centroid_interaction = interaction
        searcher.exact_scores = exact_scores
    if "approximate" not in calls:
        raise SystemExit("Index.search no longer calls PostingLists.approximate: update make_golden.py and the Java searcher")
    probe, (doc_nos, approx) = calls["approximate"]
    stages: dict = {"probe": probe, "ids": [id_of[int(d)] for d in doc_nos], "approx": [float(a) for a in approx],
                    "ties": []}
    n = len(state.centroids)
    stages["probe_margin"] = None
    if probe < n:
        wider, _ = state.centroids.probe(query, probe + 1)
        stages["probe_margin"] = float(np.min(wider[:, probe - 1] - wider[:, probe]))
    candidates = setting["candidates"]
    if candidates is not None and len(doc_nos) > candidates:
        if "interaction" not in calls or "exact" not in calls:
            raise SystemExit("Index.search cut without centroid_interaction and exact_scores: update make_golden.py "
                             "and the Java searcher")
        found, n_tokens, scores = calls["interaction"]
        kept = calls["exact"]
        stages["interaction_ids"] = [id_of[int(d)] for d in found]
        stages["interaction_tokens"] = [int(n) for n in n_tokens]
        stages["interaction"] = [float(x) for x in scores]
        stages["exact_ids"] = [id_of[int(d)] for d in kept]
        if _tie_at(approx, len(found)):
            stages["ties"].append("approximate")
        if _tie_at(scores, len(kept), filled=setting["exact_tokens"] is not None):
            stages["ties"].append("interaction")
    return [{"id": h.id, "score": h.score} for h in hits], stages


# GPT-4 / Llama-3 style split, as large byte-level BPE tokenizers (LFM2's among them) write it:
# a Split pre-tokenizer with this regex, then ByteLevel without its own regex.
SPLIT_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def split_regex_tokenizer(out: Path, texts: list[str]) -> Path:
    """A byte-level BPE trained on ``texts`` with the components the bundles' tokenizers do not use:
    Sequence[Split(regex), ByteLevel(use_regex=False)] and ignore_merges (like LFM2's real one)."""
    from tokenizers import Regex, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE(ignore_merges=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    trainer = trainers.BpeTrainer(vocab_size=3000, special_tokens=["<|startoftext|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    bos = tokenizer.token_to_id("<|startoftext|>")
    tokenizer.post_processor = processors.TemplateProcessing(single="<|startoftext|> $A",
                                                             special_tokens=[("<|startoftext|>", bos)])
    path = out / "tokenizer-split-regex.json"
    tokenizer.save(str(path))
    return path


def text_ids(path: Path, texts: list[str]) -> list[list[int]]:
    """Ids of ``texts`` from a tokenizer.json (its own padding/truncation switched off)."""
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return [encoding.ids for encoding in tokenizer.encode_batch(texts, add_special_tokens=True)]


def copy_untrained(out: Path, source: Path, encoder: Encoder) -> Path:
    """The fp16 index's documents (same vectors, ids, metadata) in a residual4 index too small to
    train: no centroids, so search scores every document (a phone's first index looks like this)."""
    path = out / "index-untrained.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with Index.open(source) as index:
        rows = index._db.execute("SELECT id, metadata FROM documents ORDER BY doc_no").fetchall()
        ids = [r[0] for r in rows]
        vectors = index.get_vectors(ids)
    with Index.open(path, fingerprint=encoder.fingerprint, dim=encoder.dim, codec="residual4",
                    train_at=len(ids) + 1) as index:
        index.add(ids, vectors, [json.loads(r[1]) for r in rows])
        index.optimize()
    return path


def build_index(out: Path, name: str, codec: str, bundle: Path, encoder: Encoder) -> Path:
    path = out / f"index-{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    Index.open(path, fingerprint=encoder.fingerprint, dim=encoder.dim, codec=codec, train_at=TRAIN_AT).close()
    with Engine.open(path, bundle=bundle, codec=codec) as engine:
        engine.index_paths([REPO / "samples" / "notes", REPO / "samples" / "mail"])
    with Index.open(path) as index:
        index.optimize()  # checkpoint the WAL into the file so a reader sees everything in one file
    return path


def main(out_dir: str, bundles_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bundles = {name: Path(bundles_dir).resolve() / name for name in ("lfm2-fp32", "minilm-fp32")}
    golden: dict = {
        "bundles": {name: str(path) for name, path in bundles.items()},
        "queries": QUERIES,
        "tokens": {name: tokens_of(path) for name, path in bundles.items()},
    }
    lfm2 = bundles["lfm2-fp32"]
    encoder = Encoder.load(lfm2, threads=1)
    queries = encoder.encode_queries(QUERIES)
    golden["query_vectors"] = {"lfm2-fp32": [vectors_list(q) for q in queries]}
    golden["indexes"] = {}
    filled = False  # whether some search kept more than ``candidates`` through the token fill
    for name in ("residual4", "fp16", "untrained"):
        if name == "untrained":
            path = copy_untrained(out, out / golden["indexes"]["fp16"]["file"], encoder)
        else:
            path = build_index(out, name, name, lfm2, encoder)
        with Index.open(path) as index:
            info = index.info()
            if name == "residual4" and (info.n_centroids == 0 or info.codec != "residual4"):
                raise SystemExit(f"{path}: expected a trained residual4 index, got {info}")
            rows = index._db.execute("SELECT doc_no, id FROM documents ORDER BY doc_no").fetchall()
            id_of = {int(no): i for no, i in rows}
            ids = [i for _, i in rows]
            sample = ids[:: max(1, len(ids) // 6)][:6]
            documents = [{"id": i, "vectors": vectors_list(v)} for i, v in zip(sample, index.get_vectors(sample))]
            searches = []
            for setting in SEARCHES:
                recorded = [search_recorded(index, q, setting, id_of) for q in queries]
                kept = [len(stage["exact_ids"]) for _, stage in recorded if "exact_ids" in stage]
                if kept:
                    filled |= max(kept) > setting["candidates"]
                    knobs = " ".join(f"{key}={setting[key]}" for key in ("nprobe", "candidates", "exact_tokens"))
                    print(f"  {name} {knobs}: {min(kept)}..{max(kept)} documents scored exactly")
                searches.append({**setting, "results": [r[0] for r in recorded], "stages": [r[1] for r in recorded]})
            golden["indexes"][name] = {
                "file": path.name, "codec": info.codec, "n_documents": info.n_documents,
                "n_centroids": info.n_centroids,
                "documents": documents, "searches": searches,
            }
        print(f"{path.name}: {info.n_documents} documents, {info.n_centroids} centroids, codec {info.codec}")
    encoder.close()
    if not filled:
        raise SystemExit("no golden search kept more than `candidates` documents: lower an exact_tokens in SEARCHES")
    with Index.open(out / golden["indexes"]["residual4"]["file"]) as index:
        rows = index._db.execute("SELECT metadata FROM documents ORDER BY doc_no").fetchall()
    texts = [json.loads(r[0])["text"] for r in rows]
    for line in (REPO / "samples" / "eval" / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            texts.append(json.loads(line)["text"])
    texts += QUERIES
    golden["texts"] = texts
    files = {name: path / "tokenizer.json" for name, path in bundles.items()}
    files["split-regex"] = split_regex_tokenizer(out, texts)
    golden["tokenizer_files"] = {name: str(path) for name, path in files.items()}
    golden["text_ids"] = {name: text_ids(path, texts) for name, path in files.items()}
    (out / "golden.json").write_text(json.dumps(golden, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out / 'golden.json'}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: make_golden.py OUT_DIR BUNDLES_DIR")
    main(sys.argv[1], sys.argv[2])

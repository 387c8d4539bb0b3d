"""PyLate's own output for a model folder: the seed reference that test_pylate_parity.py checks us against.

Run with the python of the PyLate environment (``bash .ci/pylate_env.sh DIR``), never the main one::

    DIR/bin/python tests/pylate_reference.py MODEL_FOLDER OUT.npz [MODEL_FOLDER OUT.npz ...]

(several pairs share one interpreter start). For each folder it loads
``pylate.models.ColBERT(MODEL_FOLDER, device="cpu")`` and writes to OUT.npz, for :data:`QUERIES` and
:data:`DOCUMENTS` (stored in the file too, so both sides read the same texts):

- ``queries`` / ``documents``: the texts, unicode arrays (n,);
- ``q_ids``, ``q_mask`` / ``d_ids``, ``d_mask``: ``model.tokenize(texts, is_query=...)`` of the whole
  list as one batch, int64 (n, seq);
- ``q_single``: ``encode([text], is_query=True)`` one query at a time, concatenated (n * query_length, dim);
- ``q_batch``: ``encode(QUERIES, is_query=True, batch_size=n)`` in one batch, same layout;
- ``d_single`` / ``d_batch``: the same for documents (alone / one padded batch), concatenated
  (sum of kept tokens, dim), with ``d_single_counts`` / ``d_batch_counts`` (n,) kept tokens per text;
- ``versions``: "name=version" strings of torch, transformers, sentence-transformers, pylate.

float32 throughout. The file imports nothing from colbert_edge: it is the other side of the comparison.
"""

from __future__ import annotations

import sys

QUERIES = [
    "where is the wifi password?",
    "¿Cuándo compramos pan, leche y huevos?",
    "Besprechung mit dem Vermieter verschoben",
    "会议改到下周三上午十点",
    "来週の金曜日までに請求書",
    "تم تأجيل الاجتماع إلى يوم الأحد",
    "emoji 🙂🚀👩‍💻 flights ✈️",
    "",
    "   \t\n ",
    "?!...,;:()[]{}<>\"'",
    "control \x00\x07 chars and  double  spaces",
    "UPPER lower MiXeD",
    "  leading and trailing spaces\t ",
    "\u00a0\u2003\u3000",
    "literal [Q] and [D] markers [MASK] <|im_end|>",
    "ＦＵＬＬＷＩＤＴＨ ﬁ e\u0301 zero\u200bwidth",
    " ".join(["a query far longer than the query length budget"] * 20),
]
DOCUMENTS = QUERIES + [
    "The quarterly report is due on Friday; send the draft to Maria before noon.",
    "Le rendez-vous chez le dentiste est confirmé pour jeudi à 15 h.",
    "다음 주 월요일에 프로젝트 회의가 있습니다.",
    "... !!! ??? ,,, ;;; --- ***",
    "Flight LH 454 from Frankfurt lands at 14:35, terminal 1. Don't forget: gate B-42!",
    " ".join(["A very long document about budgets, flights, passports and 会议 الاجتماع 🙂."] * 60),
]


def _concat(vectors: list) -> tuple:
    import numpy as np

    counts = np.asarray([len(v) for v in vectors], dtype=np.int64)
    return np.concatenate([np.asarray(v, dtype=np.float32) for v in vectors], axis=0), counts


def main(model_folder: str, out_path: str) -> None:
    import importlib.metadata as md

    import numpy as np
    import torch
    from pylate.models import ColBERT

    torch.manual_seed(0)
    model = ColBERT(model_folder, device="cpu")
    model.eval()
    out: dict[str, np.ndarray] = {
        "queries": np.asarray(QUERIES, dtype=np.str_),
        "documents": np.asarray(DOCUMENTS, dtype=np.str_),
        "versions": np.asarray([f"{n}={md.version(n)}" for n in ("torch", "transformers", "sentence-transformers", "pylate")]),
    }
    for kind, texts, is_query in (("q", QUERIES, True), ("d", DOCUMENTS, False)):
        features = model.tokenize(texts, is_query=is_query)
        out[f"{kind}_ids"] = features["input_ids"].numpy().astype(np.int64)  # (n, seq)
        out[f"{kind}_mask"] = features["attention_mask"].numpy().astype(np.int64)  # (n, seq)
        single = [model.encode([t], is_query=is_query, batch_size=1, show_progress_bar=False)[0] for t in texts]
        batch = model.encode(texts, is_query=is_query, batch_size=len(texts), show_progress_bar=False)
        out[f"{kind}_single"], out[f"{kind}_single_counts"] = _concat(single)
        out[f"{kind}_batch"], out[f"{kind}_batch_counts"] = _concat(batch)
    np.savez(out_path, **out)


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or len(args) % 2:
        sys.exit("usage: pylate_reference.py MODEL_FOLDER OUT.npz [MODEL_FOLDER OUT.npz ...]")
    for folder, out in zip(args[::2], args[1::2]):
        main(folder, out)

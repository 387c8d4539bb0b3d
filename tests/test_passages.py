"""split_passages: token budget, exact overlap, sentence preference, CJK/Arabic/emoji, bad input."""

from __future__ import annotations

import random
import re

import pytest

from colbert_edge.errors import InvalidArgument
from colbert_edge.passages import Passage, split_passages

_PIECE = re.compile(r"[A-Za-z\u0600-\u06ff]{1,4}|\d|[\u3040-\u30ff\u4e00-\u9fff]|\S", re.S)


def fake_spans(text: str) -> list[tuple[int, int]]:
    """A toy tokenizer: Latin/Arabic words in pieces of <= 4 letters, one token per CJK character,
    digit or punctuation mark, and -- like byte-level BPE -- two tokens sharing the span of a
    character outside the BMP (emoji)."""
    spans = []
    for m in _PIECE.finditer(text):
        spans.append(m.span())
        if ord(m.group()[0]) > 0xFFFF:
            spans.append(m.span())
    return spans


def tokens_in(p: Passage, spans: list[tuple[int, int]]) -> list[int]:
    return [i for i, (s, e) in enumerate(spans) if p.start <= s and e <= p.end]


def check_invariants(
    text: str, spans, budget: int, overlap: int, exact_overlap: bool = True, slack: int = 2
) -> list[Passage]:
    passages = split_passages(text, spans, budget, overlap)
    assert passages == split_passages(text, spans, budget, overlap)  # deterministic
    assert [p.index for p in passages] == list(range(len(passages)))
    assert passages[0].start == 0 and passages[-1].end == len(text)
    covered: set[int] = set()
    windows = []
    for p in passages:
        assert p.text == text[p.start : p.end]
        inside = tokens_in(p, spans)
        assert len(inside) <= budget, (p, len(inside))
        assert inside == list(range(inside[0], inside[-1] + 1)) if inside else True  # contiguous
        covered.update(inside)
        windows.append(set(inside))
    assert covered == set(range(len(spans))), "some token is in no passage"
    for a, b in zip(windows, windows[1:]):
        shared = len(a & b)
        # a character in k pieces at either end of the overlap may move it by k - 1 tokens each
        assert shared == overlap if exact_overlap else abs(shared - overlap) <= slack
        assert b - a, "a passage that adds no new token"
    return passages


LATIN = (
    "The quick brown fox jumps over the lazy dog. It was not amused! Why would it be? "
    "Nobody asked the dog.\n\nA second paragraph starts here, and it rambles on without much point "
    "for quite a while, until it finally stops. Then a third sentence follows; short.\n"
    "A line without a full stop\nand another one"
)
CJK = "東京は日本の首都です。人口はとても多い。大阪は西にあります！京都は古い都市ですか？はい、そうです。"
ARABIC = (
    "مرحبا بكم في المدينة. هل تحب القراءة؟ نعم، أحب الكتب كثيرا! هذا نص عربي طويل للاختبار.\n"
    "ذهبنا إلى السوق صباحا واشترينا الخبز والفاكهة. كان الجو جميلا ومشمسا طوال اليوم."
)
EMOJI = "Party 🎉🎉 time 😀! Rocket 🚀 launch 🚀🚀🚀 soon. Family 👨‍👩‍👧 photo 📷 here."


@pytest.mark.parametrize(
    "text", [LATIN, CJK, ARABIC, LATIN + " " + CJK + " " + ARABIC], ids=["latin", "cjk", "arabic", "mixed"]
)
@pytest.mark.parametrize(("budget", "overlap"), [(5, 0), (8, 2), (13, 4), (30, 10), (7, 6)])
def test_windows_fit_cover_and_overlap_exactly(text: str, budget: int, overlap: int) -> None:
    spans = fake_spans(text)
    assert len(spans) > budget
    passages = check_invariants(text, spans, budget, overlap)
    assert len(passages) >= 2


@pytest.mark.parametrize(("budget", "overlap"), [(4, 0), (6, 2), (9, 3), (5, 4)])
def test_emoji_pieces_are_never_separated(budget: int, overlap: int) -> None:
    spans = fake_spans(EMOJI)
    passages = check_invariants(EMOJI, spans, budget, overlap, exact_overlap=False)
    for p in passages:
        for s, e in spans:  # no token straddles a passage edge
            assert not (s < p.start < e or s < p.end < e)
    # the two pieces of each emoji are always in the same passages
    for p in passages:
        inside = tokens_in(p, spans)
        for i in inside:
            j = i + 1
            if j < len(spans) and spans[j] == spans[i]:
                assert j in inside


def test_random_texts_hold_the_invariants() -> None:
    rng = random.Random(7)
    alphabet = list("abcdefgh   ..!?\n") + list("東京日本。！") + ["🎉", "مر", "؟"]
    for _ in range(150):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        spans = fake_spans(text)
        budget = rng.randint(2, 25)
        overlap = rng.randint(0, budget - 1)
        exact = not any(ord(ch) > 0xFFFF for ch in text)
        passages = split_passages(text, spans, budget, overlap)
        if len(spans) <= budget:
            assert passages == [Passage(text, 0, len(text), 0)]
        else:
            check_invariants(text, spans, budget, overlap, exact_overlap=exact)


def test_prefers_sentence_end_in_the_last_fifth() -> None:
    text = "aaa bbb ccc ddd eee fff ggg hh. jj. kkk lll mmm nnn ooo ppp qqq rrr sss ttt uuu vvv"
    spans = fake_spans(text)
    passages = split_passages(text, spans, budget=12, overlap=0)
    # the window could take 12 tokens (up to "kkk"); it stops after "jj." (11 tokens) instead
    assert passages[0].text == "aaa bbb ccc ddd eee fff ggg hh. jj."
    # a sentence end outside the last ~20% is not used: the window is filled instead
    far = split_passages(text, spans, budget=20, overlap=0)
    assert far[0].text == text[: spans[19][1]]


def test_paragraph_break_beats_a_later_sentence_end() -> None:
    text = "a b c d e f g h\n\ni j. k l m n o p q r s t u v w x y z"
    spans = fake_spans(text)
    passages = split_passages(text, spans, budget=10, overlap=0)
    assert passages[0].text == "a b c d e f g h"
    assert passages[1].start == text.index("i j.")


def test_cjk_cuts_at_full_width_marks() -> None:
    spans = fake_spans(CJK)
    passages = split_passages(CJK, spans, budget=12, overlap=0)
    assert passages[0].text == "東京は日本の首都です。"  # 11 of 12 tokens: the full stop wins
    assert passages[2].text == "西にあります！京都は古い"  # the "！" lies outside the last fifth
    assert "".join(p.text for p in passages) == CJK


def test_arabic_question_mark_is_a_sentence_end() -> None:
    spans = fake_spans(ARABIC)
    passages = split_passages(ARABIC, spans, budget=13, overlap=0)
    assert passages[0].text.endswith("؟")


def test_text_that_fits_is_one_passage_equal_to_the_text() -> None:
    text = "  Short text.  "
    assert split_passages(text, fake_spans(text), budget=8, overlap=2) == [Passage(text, 0, len(text), 0)]
    assert split_passages("", [], budget=8, overlap=2) == [Passage("", 0, 0, 0)]
    assert split_passages(" \n ", [], budget=1, overlap=0) == [Passage(" \n ", 0, 3, 0)]


@pytest.mark.parametrize(
    ("spans", "budget", "overlap", "fragment"),
    [
        ([(0, 1)], 0, 0, "budget=0"),
        ([(0, 1)], 4, -1, "overlap=-1"),
        ([(0, 1)], 4, 4, "overlap=4"),
        ([(2, 3), (0, 1)], 4, 1, "in order"),
        ([(0, 99)], 4, 1, "outside the text"),
        ([(0,)], 4, 1, "not a (start, end) pair"),
    ],
)
def test_bad_arguments_are_named(spans, budget: int, overlap: int, fragment: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(fragment)):
        split_passages("abcdef", spans, budget, overlap)


def test_with_a_real_tokenizer_each_passage_retokenizes_within_budget() -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    from colbert_edge.runtime.manifest import TokenContract
    from colbert_edge.runtime.tokenization import ContractTokenizer

    words = sorted(set(re.findall(r"\w+|[^\w\s]", LATIN)))
    vocab = {"[UNK]": 0, "[D]": 1, "[Q]": 2, **{w: i + 3 for i, w in enumerate(words)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    contract = TokenContract(
        query_prefix_id=2, document_prefix_id=1, query_length=8, document_length=17,
        do_query_expansion=True, expansion_token_id=0, attend_to_expansion_tokens=False,
        skiplist_ids=(), lowercase=False,
    )  # fmt: skip
    ct = ContractTokenizer(tok, contract)
    budget = ct.content_budget()
    assert budget == 16
    spans = ct.token_spans(LATIN)
    passages = check_invariants(LATIN, spans, budget, overlap=3)
    assert len(passages) > 3
    for p in passages:
        assert len(ct.token_spans(p.text)) <= budget
        assert "[UNK]" not in tok.decode(tok.encode(p.text).ids, skip_special_tokens=False)
    # no passage but the last is cut mid-sentence when a break was available in its tail
    assert passages[0].text.endswith((".", "!", "?"))


def test_docstring_example_holds() -> None:
    import doctest

    import colbert_edge.passages as module

    result = doctest.testmod(module)
    assert result.attempted >= 2 and result.failed == 0


@pytest.mark.parametrize(("budget", "overlap"), [(6, 0), (10, 3), (16, 8), (12, 11)])
def test_byte_level_bpe_pieces_of_one_character_stay_together(budget: int, overlap: int) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=alphabet, show_progress=False)
    tok.train_from_iterator([LATIN, CJK, ARABIC], trainer)
    text = EMOJI + "\n" + CJK + " " + ARABIC
    spans = tok.encode(text, add_special_tokens=False).offsets
    assert len(spans) != len(set(spans))  # some characters really are in several byte pieces
    passages = check_invariants(text, spans, budget, overlap, exact_overlap=False, slack=6)
    for p in passages:
        for s, e in spans:
            assert not (s < p.start < e or s < p.end < e), "a character was cut"

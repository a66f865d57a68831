"""Splitting spoken text into pieces: sentence, clause, word boundaries; glued numbers kept whole."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydub import AudioSegment
from pydub.generators import Sine

from audio.normalize import normalize_text
from audio.normalize.glue import GLUE
from audio.pauses import CLAUSE_PAUSE_MS, SENTENCE_PAUSE_MS, WORD_PAUSE_MS, join, pause_after
from audio.split import speakable, split_sentences, split_text

SAMPLES = yaml.safe_load(Path("/work/shared/samples/announcements.yaml").read_text("utf-8"))


def test_sentences_keep_their_punctuation() -> None:
    assert split_sentences("Khẩn cấp! Bà con chú ý. Có hiểu không? Hết") == [
        "Khẩn cấp!",
        "Bà con chú ý.",
        "Có hiểu không?",
        "Hết",
    ]


def test_short_sentences_are_packed_whole() -> None:
    assert split_text("Một câu. Hai câu.", 100) == ["Một câu. Hai câu."]
    assert split_text("Một câu dài. Hai câu dài.", 15) == ["Một câu dài.", "Hai câu dài."]


def test_long_sentence_splits_at_clauses_packed_greedily() -> None:
    sentence = "bà con chú ý, " * 4 + "họp ngay."
    pieces = split_text(sentence, 40)
    assert pieces == ["bà con chú ý, bà con chú ý,", "bà con chú ý, bà con chú ý, họp ngay."]


def test_long_clause_splits_between_words() -> None:
    clause = " ".join(["thông báo"] * 30) + "."
    pieces = split_text(clause, 50)
    assert all(len(p) <= 50 for p in pieces)
    assert " ".join(pieces) == clause
    assert all(not p.startswith(" ") and not p.endswith(" ") for p in pieces)


def test_glued_number_is_not_cut_when_it_fits() -> None:
    text = normalize_text("x " * 30 + "hỗ trợ 152.500.000 đồng cho các hộ", keep_glue=True)
    reading = "một trăm năm mươi hai triệu năm trăm nghìn"
    for max_chars in (50, 60, 70, 100):
        pieces = [speakable(p) for p in split_text(text, max_chars)]
        assert any(reading in p for p in pieces), (max_chars, pieces)


def test_overlong_glued_run_is_cut_between_its_words() -> None:
    run = GLUE.join(["chín"] * 30)
    pieces = split_text(run, 40)
    assert all(len(p) <= 40 for p in pieces)
    assert GLUE.join(pieces) == run


def test_monster_word_is_cut_as_a_last_resort() -> None:
    pieces = split_text("a" * 250, 100)
    assert [len(p) for p in pieces] == [100, 100, 50]


def test_max_chars_must_be_sensible() -> None:
    with pytest.raises(ValueError):
        split_text("x", 5)


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["id"] for s in SAMPLES])
def test_samples_split_within_the_gtts_limit_without_cutting_readings(sample: dict) -> None:
    glued = normalize_text(sample["body"], keep_glue=True)
    pieces = split_text(glued, 100)
    assert all(0 < len(p) <= 100 for p in pieces)
    assert " ".join(pieces) == glued
    for piece in pieces:  # a piece never starts or ends inside a glued reading
        assert not piece.startswith(GLUE) and not piece.endswith(GLUE)


@given(st.lists(st.sampled_from(["bà", "con", "chú", "ý,", "họp.", "xã!", "một" + GLUE + "trăm"])))
def test_split_is_lossless_and_bounded(words: list[str]) -> None:
    text = " ".join(words)
    pieces = split_text(text, 20)
    assert all(len(p) <= 20 for p in pieces)
    assert " ".join(pieces).split() == text.split()


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("câu.", SENTENCE_PAUSE_MS),
        ("câu!", SENTENCE_PAUSE_MS),
        ("câu?", SENTENCE_PAUSE_MS),
        ("vế,", CLAUSE_PAUSE_MS),
        ("vế;", CLAUSE_PAUSE_MS),
        ("vế:", CLAUSE_PAUSE_MS),
        ("giữa chừng", WORD_PAUSE_MS),
    ],
)
def test_pause_after(text: str, ms: int) -> None:
    assert pause_after(text) == ms


def test_join_trims_edges_and_inserts_pauses() -> None:
    tone = Sine(440).to_audio_segment(500, volume=-10.0)
    silence = AudioSegment.silent(300, frame_rate=tone.frame_rate)
    padded = silence + tone + silence
    joined = join([padded, padded], ["câu một.", "câu hai."])
    expected = 2 * (500 + 2 * 20) + SENTENCE_PAUSE_MS
    assert len(joined) == pytest.approx(expected, abs=15)


def test_join_needs_matching_texts() -> None:
    tone = Sine(440).to_audio_segment(100)
    with pytest.raises(ValueError):
        join([tone], [])
    with pytest.raises(ValueError):
        join([], [])

"""Join synthesized pieces with natural pauses: longer after a sentence than after a clause."""

from __future__ import annotations

from collections.abc import Sequence

from pydub import AudioSegment
from pydub.silence import detect_leading_silence

SENTENCE_PAUSE_MS = 450
CLAUSE_PAUSE_MS = 220
WORD_PAUSE_MS = 40  # a piece cut inside a clause: barely a breath
SILENCE_DBFS = -50.0
PAD_MS = 20  # keep a little of each edge so a soft consonant is not clipped


def pause_after(text: str) -> int:
    """The pause (ms) after a piece of text, from its last punctuation mark."""
    end = text.rstrip()[-1:]
    if end in ".!?":
        return SENTENCE_PAUSE_MS
    if end in ",;:":
        return CLAUSE_PAUSE_MS
    return WORD_PAUSE_MS


def trim(audio: AudioSegment) -> AudioSegment:
    """Audio without its leading and trailing silence (a few ms of padding kept)."""
    start = detect_leading_silence(audio, silence_threshold=SILENCE_DBFS)
    end = detect_leading_silence(audio.reverse(), silence_threshold=SILENCE_DBFS)
    if start + end >= len(audio):
        return audio
    return audio[max(0, start - PAD_MS) : len(audio) - max(0, end - PAD_MS)]


def join(segments: Sequence[AudioSegment], texts: Sequence[str]) -> AudioSegment:
    """The segments, trimmed, one after another with the pause each text's ending asks for."""
    if len(segments) != len(texts):
        raise ValueError("join needs one text per segment")
    if not segments:
        raise ValueError("nothing to join")
    first = segments[0]
    parts: list[bytes] = []
    for index, (segment, text) in enumerate(zip(segments, texts, strict=True)):
        piece = trim(segment.set_channels(1).set_frame_rate(first.frame_rate))
        piece = piece.set_sample_width(first.sample_width)
        parts.append(piece.raw_data)
        if index < len(segments) - 1:
            pause = AudioSegment.silent(duration=pause_after(text), frame_rate=first.frame_rate)
            parts.append(pause.set_sample_width(first.sample_width).raw_data)
    # One join of the bytes: adding segment to segment copies the whole so far each time.
    return first.set_channels(1)._spawn(b"".join(parts))

"""The attention chime, synthesized here from soft sine tones (no third-party sound files)."""

from __future__ import annotations

import array
import math
from functools import lru_cache

from pydub import AudioSegment
from pydub.utils import db_to_float

FRAME_RATE = 44100
# C5, E5, G5: a major arpeggio, rising before a message and falling after it.
_NOTES_HZ = (523.25, 659.25, 783.99)
_NOTE_MS = 700
_STEP_MS = 320
_PEAK_DBFS = -6.0


@lru_cache(maxsize=len(_NOTES_HZ))
def _bell(freq: float) -> AudioSegment:
    """One soft note: the fundamental, a quiet octave, a short attack and a long fade."""
    fundamental = _sine(freq, _NOTE_MS, -12.0)
    octave = _sine(freq * 2, _NOTE_MS, -26.0)
    return fundamental.overlay(octave).fade_in(15).fade_out(_NOTE_MS - 80)


def _sine(freq: float, ms: int, volume: float) -> AudioSegment:
    """The samples pydub's Sine generator gives, computed in one pass (its per-sample
    generator made the chime the slowest part of a first render)."""
    step = (freq * 2 * math.pi) / FRAME_RATE
    gain = db_to_float(volume)
    count = int(FRAME_RATE * (ms / 1000.0))
    samples = array.array("h", [int(math.sin(step * n) * 32767 * gain) for n in range(count)])
    return AudioSegment(data=samples.tobytes(), sample_width=2, frame_rate=FRAME_RATE, channels=1)


@lru_cache(maxsize=2)
def make_chime(*, descending: bool = False) -> AudioSegment:
    """A three-note chime (about 1.3 s, mono 44.1 kHz, peak -6 dBFS); identical on every call."""
    notes = _NOTES_HZ[::-1] if descending else _NOTES_HZ
    total = _STEP_MS * (len(notes) - 1) + _NOTE_MS
    chime = AudioSegment.silent(duration=total, frame_rate=FRAME_RATE)
    for index, freq in enumerate(notes):
        chime = chime.overlay(_bell(freq), position=index * _STEP_MS)
    return chime.set_channels(1).apply_gain(_PEAK_DBFS - chime.max_dBFS)

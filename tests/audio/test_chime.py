"""The chime is ours, deterministic, soft and audible."""

from __future__ import annotations

from audio.chime import make_chime


def test_chime_is_deterministic_mono_and_soft() -> None:
    chime = make_chime()
    assert chime.raw_data == make_chime().raw_data
    assert chime.channels == 1
    assert chime.frame_rate == 44100
    assert 1000 <= len(chime) <= 2000
    assert -6.5 < chime.max_dBFS < -5.5
    assert chime.dBFS > -30


def test_chime_fades_in_and_out() -> None:
    chime = make_chime()
    assert chime[:2].max < chime.max / 4
    assert chime[-20:].max < chime.max / 10


def test_descending_chime_is_the_same_notes_reversed() -> None:
    up, down = make_chime(), make_chime(descending=True)
    assert len(up) == len(down)
    assert up.raw_data != down.raw_data

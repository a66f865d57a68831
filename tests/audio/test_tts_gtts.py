"""GttsEngine against a mocked Google Translate endpoint (the `responses` library; no internet)."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import pytest
import requests
import responses

from audio.tts.base import TTSError
from audio.tts.gtts import GttsEngine

URL = "https://translate.google.com.vn/_/TranslateWebserverUi/data/batchexecute"


def batchexecute_body(mp3: bytes) -> str:
    """A response shaped like Google's: gTTS takes the base64 MP3 from the jQ1olc line."""
    b64 = base64.b64encode(mp3).decode("ascii")
    return (
        ")]}'\n\n123\n"
        f'[["wrb.fr","jQ1olc","[\\"{b64}\\"]",null,null,null,"generic"]]\n'
        '58\n[["di",41],["af.httprm",40,"-1",7]]\n'
    )


def test_success_decodes_the_served_mp3(tone_mp3: bytes) -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, body=batchexecute_body(tone_mp3))
        speech = GttsEngine(timeout=3.5).synthesize("Xin chào bà con")
        request = rsps.calls[0].request
    assert speech.engine == "gtts"
    assert 1900 <= len(speech.audio) <= 2100
    assert speech.audio.dBFS > -50
    assert request.req_kwargs["timeout"] == 3.5
    rpc = json.loads(parse_qs(request.body)["f.req"][0])
    text, lang = json.loads(rpc[0][0][1])[:2]
    assert (text, lang) == ("Xin chào bà con", "vi")


def test_long_text_is_sent_in_parts_and_joined(tone_mp3: bytes) -> None:
    text = " ".join(["Bà con chú ý lịch tiêm chủng tại trạm y tế xã."] * 6)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, body=batchexecute_body(tone_mp3))
        speech = GttsEngine().synthesize(text)
        parts = len(rsps.calls)
    assert parts > 1
    assert len(speech.audio) == pytest.approx(2000 * parts, abs=60 * parts)


def test_http_500_is_a_tts_error() -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, status=500)
        with pytest.raises(TTSError, match=r"'gtts'.*500"):
            GttsEngine().synthesize("Xin chào")


@pytest.mark.parametrize("exc", [requests.ConnectionError("offline"), requests.ReadTimeout("slow")])
def test_connection_failures_are_tts_errors(exc: Exception) -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, body=exc)
        with pytest.raises(TTSError, match=r"'gtts'.*Failed to connect"):
            GttsEngine().synthesize("Xin chào")


def test_response_without_audio_is_a_tts_error() -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, body=')]}\'\n[["wrb.fr","jQ1olc",null]]\n')
        with pytest.raises(TTSError, match="'gtts'"):
            GttsEngine().synthesize("Xin chào")


def test_undecodable_audio_is_a_tts_error() -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, body=batchexecute_body(b"not an mp3 at all" * 50))
        with pytest.raises(TTSError, match="cannot decode"):
            GttsEngine().synthesize("Xin chào")


def test_unspeakable_text_is_a_tts_error() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        with pytest.raises(TTSError, match="no speakable text"):
            GttsEngine().synthesize("...")


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="timeout"):
        GttsEngine(timeout=0)
    with pytest.raises(ValueError, match="language"):
        GttsEngine(lang="xx-nope")

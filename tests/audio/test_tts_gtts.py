"""GttsEngine against a mocked Google Translate endpoint (the `responses` library; no internet)."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import pytest
import requests
import responses

from audio.normalize import normalize_text
from audio.pauses import pause_after
from audio.split import speakable
from audio.tts.base import TTSError
from audio.tts.gtts import GttsEngine

YEAR_2026 = "hai nghìn không trăm hai mươi sáu"

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


def _sent_texts(rsps: responses.RequestsMock) -> list[str]:
    texts = []
    for call in rsps.calls:
        rpc = json.loads(parse_qs(call.request.body)["f.req"][0])
        texts.append(json.loads(rpc[0][0][1])[0])
    return texts


def _engine(**kwargs: object) -> tuple[GttsEngine, list[float]]:
    slept: list[float] = []
    options: dict[str, object] = {"min_interval_s": 0.0, "sleep": slept.append} | kwargs
    return GttsEngine(**options), slept  # type: ignore[arg-type]


LONG = normalize_text(
    "Thông báo của UBND xã Đắk Hà. Thực hiện kế hoạch rà soát hộ nghèo, hộ cận nghèo năm 2026, "
    "từ ngày 3/11/2026 đến ngày 15/11/2026, tổ rà soát sẽ đến từng hộ gia đình tại các thôn "
    "để thu thập thông tin. Mọi thắc mắc xin liên hệ cán bộ xã, số điện thoại 0260 3861 234.",
    keep_glue=True,
)


def test_long_text_is_sent_in_pieces_at_boundaries_and_joined(tone_mp3: bytes) -> None:
    engine, _ = _engine()
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, body=batchexecute_body(tone_mp3))
        speech = engine.synthesize(LONG)
        sent = _sent_texts(rsps)
    assert len(sent) >= 4
    assert all(len(piece) <= 100 for piece in sent)
    assert " ".join(sent) == speakable(LONG)  # nothing lost, nothing reordered
    assert sent[0] == "thông báo của ủy ban nhân dân xã đắk hà."
    # A date and a phone number are never cut in two.
    assert any(p.endswith(f"năm {YEAR_2026},") for p in sent)
    assert sent[-1].endswith("không hai sáu không ba tám sáu một hai ba bốn.")
    pauses = sum(pause_after(p) for p in sent[:-1])
    assert len(speech.audio) == pytest.approx(2000 * len(sent) + pauses, abs=50 * len(sent))


def test_http_500_is_retried_with_backoff_then_a_tts_error() -> None:
    engine, slept = _engine(retries=3, backoff_s=0.5)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, status=500)
        with pytest.raises(TTSError, match=r"'gtts'.*500.*after 4 attempts"):
            engine.synthesize("Xin chào")
        assert len(rsps.calls) == 4
    assert slept == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_throttling_and_server_errors_recover(tone_mp3: bytes, status: int) -> None:
    engine, slept = _engine()
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, status=status)
        rsps.add(responses.POST, URL, status=status)
        rsps.add(responses.POST, URL, body=batchexecute_body(tone_mp3))
        speech = engine.synthesize("Xin chào")
        assert len(rsps.calls) == 3
    assert slept == [1.0, 2.0]
    assert len(speech.audio) > 1900


def test_retry_after_is_honoured_and_capped(tone_mp3: bytes) -> None:
    engine, slept = _engine()
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, status=429, headers={"Retry-After": "7"})
        rsps.add(responses.POST, URL, status=429, headers={"Retry-After": "3600"})
        rsps.add(responses.POST, URL, body=batchexecute_body(tone_mp3))
        engine.synthesize("Xin chào")
    assert slept == [7.0, 30.0]


@pytest.mark.parametrize("status", [400, 403, 404])
def test_client_errors_are_not_retried(status: int) -> None:
    engine, slept = _engine()
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, status=status)
        with pytest.raises(TTSError, match=str(status)):
            engine.synthesize("Xin chào")
        assert len(rsps.calls) == 1
    assert slept == []


def test_connection_failure_fails_fast_for_the_fallback() -> None:
    engine, slept = _engine()
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, body=requests.ConnectionError("offline"))
        with pytest.raises(TTSError, match=r"'gtts'.*Failed to connect"):
            engine.synthesize("Xin chào")
        assert len(rsps.calls) == 1
    assert slept == []


def test_read_timeouts_are_retried(tone_mp3: bytes) -> None:
    engine, slept = _engine(timeout=2.0)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, body=requests.ReadTimeout("slow"))
        rsps.add(responses.POST, URL, body=batchexecute_body(tone_mp3))
        engine.synthesize("Xin chào")
        assert [c.request.req_kwargs["timeout"] for c in rsps.calls] == [2.0, 2.0]
    assert slept == [1.0]


def test_persistent_timeouts_are_a_tts_error() -> None:
    engine, slept = _engine(retries=2)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, body=requests.ReadTimeout("slow"))
        with pytest.raises(TTSError, match=r"Failed to connect.*after 3 attempts"):
            engine.synthesize("Xin chào")
    assert slept == [1.0, 2.0]


class _Ticks:
    """A monotonic clock for the throttle: each reading is 1 s after the last, and a sleep
    moves it on by the time slept."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        self.now += 1.0
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_requests_are_spaced_by_the_minimum_interval(tone_mp3: bytes) -> None:
    ticks = _Ticks()
    engine = GttsEngine(min_interval_s=5.0, sleep=ticks.sleep, monotonic=ticks)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, body=batchexecute_body(tone_mp3))
        engine.synthesize("Câu thứ nhất. Câu thứ hai. Câu thứ ba.")
    assert ticks.slept == []  # three sentences fit one piece

    ticks = _Ticks()
    engine = GttsEngine(min_interval_s=5.0, sleep=ticks.sleep, monotonic=ticks)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, body=batchexecute_body(tone_mp3))
        engine.synthesize(LONG)
        requests_made = len(rsps.calls)
    assert requests_made > 1
    # one tick passes between a request's stamp and the next request's check: 5 - 1 = 4 s
    assert ticks.slept == [4.0] * (requests_made - 1)


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
        with pytest.raises(TTSError, match="no speakable text"):
            GttsEngine().synthesize("—")


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="timeout"):
        GttsEngine(timeout=0)
    with pytest.raises(ValueError, match="language"):
        GttsEngine(lang="xx-nope")


def test_bad_retry_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        GttsEngine(retries=-1)

"""Workflow errors reach the page in Vietnamese by their stable code, not their English text."""

from __future__ import annotations

from flask import Flask

from schedules.workflow import NotAllowed, WorkflowError
from web.announcements.messages import explain


def test_errors_are_translated_by_code_whatever_their_english(app: Flask) -> None:
    with app.test_request_context("/"):
        assert explain(WorkflowError("reworded one day", "title-empty")) == "Tiêu đề đang trống."
        own = explain(NotAllowed("anything", "own-announcement"))
        assert own.startswith("Bạn là người soạn bản tin này")
        assert "10" in explain(WorkflowError("x", "text-long", n=12, max=10))


def test_unknown_codes_fall_back_to_a_translated_prefix(app: Flask) -> None:
    with app.test_request_context("/"):
        message = explain(WorkflowError("something new", "brand-new-code"))
        assert "something new" in message and message != "something new"


def _refusing_app(app: Flask) -> Flask:
    """Routes that raise what the services raise, to see the registered handlers answer."""
    from audio.tts.base import TTSError

    def refuse() -> str:
        raise WorkflowError("announcement 7 is approved; only drafts can be submitted",
                            "not-draft", status="approved")  # fmt: skip

    def tts() -> str:
        raise TTSError("gtts", "no network")

    for rule, view in (("/refuse", refuse), ("/api/refuse", refuse), ("/tts", tts)):
        app.add_url_rule(rule, rule, view, methods=["GET", "POST"])
    return app


def test_refusals_flash_and_go_back_on_a_form_post(app: Flask) -> None:
    with _refusing_app(app).test_client() as c:
        r = c.post("/refuse", headers={"Referer": "http://localhost/announcements/7"})
        assert r.status_code == 302 and r.headers["Location"] == "/announcements/7"
        r = c.post("/tts", headers={"Referer": "https://evil.example/x"})
        assert r.status_code == 302 and r.headers["Location"] == "/"  # never off the site
        page = c.get("/login").get_data(as_text=True)
        assert "Chỉ bản nháp hoặc bản tin bị từ chối mới gửi duyệt được" in page
        assert "Không tạo được âm thanh" in page


def test_refusals_are_json_under_api_and_a_page_otherwise(app: Flask) -> None:
    with _refusing_app(app).test_client() as c:
        r = c.post("/api/refuse")
        assert r.status_code == 409
        assert r.get_json()["error"]["code"] == "not-draft"
        assert "Đã duyệt" in r.get_json()["error"]["message"]
        r = c.get("/tts")
        assert r.status_code == 502 and "Không tạo được âm thanh" in r.get_data(as_text=True)

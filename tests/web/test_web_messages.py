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

"""Issue 10, web sessions: login throttling, equal work for known and unknown users, logout
that revokes, idle and absolute expiry, and a password change that ends the other sessions.

Each attack is replayed with the Flask test client against the real app and database; the
app's clock is a FakeClock, so expiry is tested without waiting.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster import accounts
from broadcaster.clock import FakeClock
from broadcaster.config import Settings
from broadcaster.db import make_engine, session_factory, transaction
from broadcaster.models import LoginSession, User
from tests.support.clock import FIXED_NOW
from tests.support.webapp import flask_app
from tests.web.conftest import PASSWORDS, FakeRenderer

THROTTLED = "Quá nhiều lần đăng nhập sai"


@pytest.fixture
def clock_start() -> datetime:
    """A fake clock (the folder's is the system clock): the tests advance it."""
    return FIXED_NOW


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Small limits: each try costs a scrypt hash, and the suite must stay quick."""
    return settings.replace(login_max_failures_per_account=3, login_max_failures_per_address=5)


def _login(client: FlaskClient, username: str, password: str, address: str = "10.0.0.1"):  # noqa: ANN202
    """Post the login form from ``address`` (the client keeps it: a session is bound to it)."""
    client.environ_base["REMOTE_ADDR"] = address
    return client.post("/login", data={"username": username, "password": password})


def _logged_in(client: FlaskClient) -> bool:
    r = client.get("/announcements/")
    return r.status_code == 200


# --- throttling ---------------------------------------------------------------------------


def test_wrong_passwords_lock_the_account_then_the_right_one_is_refused_too(
    client: FlaskClient, clock: FakeClock, settings: Settings
) -> None:
    limit = settings.login_max_failures_per_account
    # a success clears the account's failures
    for _ in range(limit - 1):
        _login(client, "bientap", "wrong")
    assert _login(client, "bientap", PASSWORDS["bientap"]).status_code == 302
    client.post("/logout")
    for n in range(limit):
        r = _login(client, "bientap", f"wrong-{n}", address=f"10.0.0.{n + 1}")
        assert r.status_code == 200 and "Sai tên đăng nhập hoặc mật khẩu" in r.text
    r = _login(client, "bientap", PASSWORDS["bientap"], address="10.9.9.9")
    assert r.status_code == 429, "the right password must not work while the account is locked"
    assert THROTTLED in r.text and "15 phút" in r.text
    assert r.headers["Retry-After"] == str(15 * 60)
    assert not _logged_in(client)
    # another account from another address is not affected
    assert _login(client, "pheduyet", PASSWORDS["pheduyet"], address="10.0.0.77").status_code == 302
    client.post("/logout")
    # the lock lifts when the failures leave the window
    clock.advance(timedelta(minutes=settings.login_window_minutes, seconds=1))
    assert _login(client, "bientap", PASSWORDS["bientap"]).status_code == 302


def test_one_address_trying_many_accounts_is_throttled(
    client: FlaskClient, settings: Settings
) -> None:
    for n in range(settings.login_max_failures_per_address):
        assert (
            _login(client, f"khong-co-{n}", "sai-mat-khau", address="192.0.2.7").status_code == 200
        )
    r = _login(client, "quantri", PASSWORDS["quantri"], address="192.0.2.7")
    assert r.status_code == 429 and THROTTLED in r.text
    assert _login(client, "quantri", PASSWORDS["quantri"], address="192.0.2.8").status_code == 302


def test_failures_are_counted_across_web_processes(
    any_db_url: str, settings: Settings, renderer: FakeRenderer, clock: FakeClock
) -> None:
    """Two app instances (two gunicorn/waitress processes) on one database share the counts,
    on SQLite and on PostgreSQL."""
    url = any_db_url
    engine = make_engine(url)
    try:
        factory = session_factory(engine)
        shared = settings.replace(database_url=url)
        with (
            flask_app(shared, factory, renderer, clock=clock) as one,
            flask_app(shared, factory, renderer, clock=clock, commune=False) as two,
        ):
            c1, c2 = one.test_client(), two.test_client()
            limit = settings.login_max_failures_per_account
            for n in range(limit):
                (c1 if n % 2 else c2).post(
                    "/login", data={"username": "quantri", "password": "wrong"}
                )
            r = c1.post("/login", data={"username": "quantri", "password": PASSWORDS["quantri"]})
            assert r.status_code == 429
    finally:
        engine.dispose()


# --- equal work for known and unknown users ----------------------------------------------


def test_a_hash_is_checked_for_unknown_and_inactive_users_too(
    db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(db) as s:
        accounts.create_user(s, "dang-hoat-dong", "mat-khau-dung", "editor")
        gone = accounts.create_user(s, "da-nghi", "mat-khau-dung", "editor")
        gone.active = False
    checked: list[str] = []
    real = accounts.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    with db() as s:
        assert accounts.authenticate(s, "dang-hoat-dong", "sai") is None
        assert accounts.authenticate(s, "khong-ton-tai", "sai") is None
        assert accounts.authenticate(s, "da-nghi", "mat-khau-dung") is None
        assert accounts.authenticate(s, "dang-hoat-dong", "mat-khau-dung") is not None
    assert len(checked) == 4
    # the unknown user's hash is as costly as a real one: same scheme and parameters
    assert checked[1].split("$")[0] == checked[0].split("$")[0]


def test_known_and_unknown_usernames_take_about_as_long(client: FlaskClient) -> None:
    """The attack measured 110 ms vs 3.6 ms; now both verify a scrypt hash. Medians of three
    tries each, compared with each other (a generous ratio: this is not a benchmark)."""

    def median(username: str) -> float:
        times = []
        for n in range(3):
            start = time.perf_counter()
            _login(client, username, "sai-mat-khau", address=f"198.51.100.{n}{len(username)}")
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    _login(client, "warm-up", "x", address="198.51.100.250")
    known, unknown = median("bientap"), median("khong-co-ai")
    assert 1 / 3 < known / unknown < 3, (known, unknown)


# --- logout, expiry, password change ---------------------------------------------------------


def test_a_cookie_copied_before_logout_does_not_work_after(
    app: Flask, db: sessionmaker[Session]
) -> None:
    client = app.test_client()
    assert _login(client, "pheduyet", PASSWORDS["pheduyet"]).status_code == 302
    stolen = client.get_cookie("session")
    assert stolen is not None and _logged_in(client)
    # the database holds the SHA-256 of the cookie's token, not the token
    with client.session_transaction() as cookie:
        token = cookie["login_token"]
    with db() as s:
        digests = list(s.scalars(select(LoginSession.token_sha256)))
    assert digests == [hashlib.sha256(token.encode()).hexdigest()]
    client.post("/logout")
    thief = app.test_client()
    thief.environ_base["REMOTE_ADDR"] = client.environ_base["REMOTE_ADDR"]
    thief.set_cookie("session", stolen.value)
    r = thief.get("/announcements/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_sessions_expire_when_idle_and_after_the_absolute_limit(
    client: FlaskClient, clock: FakeClock, settings: Settings
) -> None:
    idle = timedelta(minutes=settings.session_idle_minutes)
    _login(client, "bientap", PASSWORDS["bientap"])
    clock.advance(idle - timedelta(minutes=2))
    assert _logged_in(client)  # a request keeps it alive
    clock.advance(idle - timedelta(minutes=2))
    assert _logged_in(client)
    clock.advance(idle + timedelta(seconds=1))
    assert not _logged_in(client)

    # active all along, it still ends session_max_hours after login
    _login(client, "bientap", PASSWORDS["bientap"])
    step = idle / 2
    elapsed = timedelta(0)
    while elapsed + step < timedelta(hours=settings.session_max_hours):
        clock.advance(step)
        elapsed += step
        assert _logged_in(client), elapsed
    clock.advance(step)
    assert not _logged_in(client)


def test_changing_the_password_ends_the_other_sessions(
    app: Flask, db: sessionmaker[Session]
) -> None:
    # Two clients, neither inside a `with` (a kept request context would share `g` with the
    # other's requests, and with it Flask-Login's cached user).
    phone, client = app.test_client(), app.test_client()
    _login(phone, "bientap", PASSWORDS["bientap"])
    _login(client, "bientap", PASSWORDS["bientap"])
    assert _logged_in(phone) and _logged_in(client)
    page = client.get("/account/password")
    assert "Đổi mật khẩu" in page.text and "Mật khẩu hiện tại" in page.text
    wrong = client.post(
        "/account/password",
        data={"current": "not-it", "new": "mat-khau-moi-123", "confirm": "mat-khau-moi-123"},
    )
    assert wrong.status_code == 422 and "không phải mật khẩu hiện tại" in wrong.text
    assert _logged_in(phone)
    r = client.post(
        "/account/password",
        data={
            "current": PASSWORDS["bientap"],
            "new": "mat-khau-moi-123",
            "confirm": "mat-khau-moi-123",
        },
    )
    assert r.status_code == 302
    assert _logged_in(client), "the browser that changed it stays logged in"
    assert not _logged_in(phone), "every other session ended"
    with db() as s:
        uid = s.scalar(select(User.id).where(User.username == "bientap"))
        assert s.scalar(select(func.count()).where(LoginSession.user_id == uid)) == 1
    client.post("/logout")
    assert _login(client, "bientap", PASSWORDS["bientap"]).status_code == 200  # old one gone
    assert _login(client, "bientap", "mat-khau-moi-123").status_code == 302


def test_a_cookie_forged_with_the_secret_key_is_not_a_login(
    app: Flask, db: sessionmaker[Session]
) -> None:
    """Even with the signing key (the attack used the example's), a forged cookie naming the
    admin is no login: its token has no row in the database."""
    with db() as s:
        admin = s.scalar(select(User.id).where(User.username == "quantri"))
    forged = app.session_interface.get_signing_serializer(app).dumps(  # type: ignore[attr-defined]
        {"_user_id": str(admin), "_fresh": True, "login_token": "made-up-token"}
    )
    thief = app.test_client()
    thief.set_cookie("session", forged)
    r = thief.get("/lexicon/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_an_admin_reset_from_the_command_line_ends_the_user_s_sessions(
    app: Flask, settings: Settings
) -> None:
    from click.testing import CliRunner

    from broadcaster.cli import main

    client = app.test_client()
    _login(client, "bientap", PASSWORDS["bientap"])
    assert _logged_in(client)
    result = CliRunner().invoke(
        main,
        ["users", "password", "bientap", "--password", "mat-khau-quan-tri-dat"],
        env={"BROADCASTER_DATABASE_URL": settings.database_url},
    )
    assert result.exit_code == 0, result.output
    assert not _logged_in(client)
    assert _login(client, "bientap", "mat-khau-quan-tri-dat").status_code == 302

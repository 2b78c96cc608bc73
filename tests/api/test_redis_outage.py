"""Redis away (killed, or paused without closing its connections): the site answers, limits hold in memory."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from subsidy_app.app import create_app
from subsidy_app.core.outbox import OutboxMessage
from tests.conftest import _settings_dict, make_settings
from tests.helpers import bearer, csrf_token, reason_of, wait_until
from tests.redis_server import RedisServer

VERIFY = "/verify/certificate/not-a-token"
FALLING_BACK = "falling back to in-memory storage"


def _app(database_url: str, session_factory: sessionmaker[Session], server: RedisServer) -> Flask:
    settings = make_settings(database_url, rate_limits=True, rate_limit_storage=server.url, redis_url=server.url,
                             public_rate_limit="3 per minute")
    return create_app({**_settings_dict(settings), "session_factory": session_factory})


def _public_routes(client: FlaskClient) -> dict[str, Callable[[], TestResponse]]:
    """One call to each kind of rate-limited public route, each with an input it refuses in its own way."""
    return {
        "certificate verification": lambda: client.get(VERIFY),
        "resident QR page (store poster)": lambda: client.get("/m/store/not-a-token"),
        "resident QR page (car sale)": lambda: client.get("/m/car/not-a-token"),
        "resident QR page (appliance receipt)": lambda: client.get("/m/appliance/not-a-token"),
        "application status": lambda: client.get("/m/s/not-a-token"),
        "quote": lambda: client.post("/api/v1/quotes", json={}),
        "password login": lambda: client.post("/login", data={"username": "nobody", "password": "wrong",
                                                              "csrf_token": csrf_token(client)}),
    }


def _limit_keys(server: RedisServer) -> list[bytes]:
    return sorted(server.client().keys("LIMITS*"))



def test_with_redis_killed_limited_routes_answer_limits_hold_in_memory_and_redis_resumes(
        database_url: str, session_factory: sessionmaker[Session], demo: dict[str, int], redis_server: RedisServer,
        caplog: pytest.LogCaptureFixture) -> None:
    client = _app(database_url, session_factory, redis_server).test_client()
    admin = bearer(client, "admin")
    routes = _public_routes(client)
    normal = {name: call().status_code for name, call in routes.items()}
    assert 500 not in normal.values() and 429 not in normal.values(), normal
    assert any(b"verify_certificate" in key for key in _limit_keys(redis_server))  # Redis holds the counts

    redis_server.kill()
    caplog.set_level(logging.INFO, logger="flask-limiter")
    started = time.monotonic()
    assert {name: call().status_code for name, call in routes.items()} == normal
    # The verification page allows 3 a minute: one was just used, counted in this process's memory.
    assert [client.get(VERIFY).status_code for _ in range(3)] == [normal["certificate verification"]] * 2 + [429]
    assert reason_of(client.get(VERIFY)) == "rate_limited"
    # Accepted work waits in the outbox while the broker (the same Redis) is away.
    queued = client.post("/api/v1/audit/checkpoints", headers=admin)
    assert queued.status_code == 202
    with session_factory() as session:
        message = session.get(OutboxMessage, queued.get_json()["job_id"])
        assert message is not None and message.dispatched_at is None
    assert time.monotonic() - started < 5  # nothing waited on the dead server
    assert [r.getMessage() for r in caplog.records].count(
        "Rate limit storage unreachable - falling back to in-memory storage") == 1  # logged once, not per request

    redis_server.start()  # back, and empty
    assert wait_until(lambda: routes["application status"]().status_code != 500 and bool(_limit_keys(redis_server)),
                  timeout=40), "the limiter never went back to Redis"
    assert "Rate limit storage recovered" in [r.getMessage() for r in caplog.records]
    codes = [client.get(VERIFY).status_code for _ in range(4)]
    assert codes == [normal["certificate verification"]] * 3 + [429]
    verify_key = next(k for k in _limit_keys(redis_server) if b"verify_certificate" in k)
    assert int(redis_server.client().get(verify_key) or 0) == 4  # counted in Redis again (the refused try too)


def _within(seconds: float, call: Callable[[], Any]) -> Any:
    """Run `call` in a thread; fail (rather than hang the suite) if it has not answered in time."""
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.setdefault("value", call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"no answer within {seconds} s"
    return result["value"]


def test_a_paused_redis_holds_no_request_neither_rate_limits_nor_enqueueing(
        database_url: str, session_factory: sessionmaker[Session], demo: dict[str, int],
        redis_server: RedisServer) -> None:
    client = _app(database_url, session_factory, redis_server).test_client()
    admin = bearer(client, "admin")
    normal = client.get(VERIFY).status_code
    redis_server.pause()  # connections open, nothing answers: a hung or failing-over Redis
    try:
        assert _within(5, lambda: client.get(VERIFY)).status_code == normal
        assert _within(5, lambda: client.post("/api/v1/quotes", json={})).status_code == 422
        queued = _within(10, lambda: client.post("/api/v1/audit/checkpoints", headers=admin))
        assert queued.status_code == 202
    finally:
        redis_server.resume()


def _limited_client(database_url: str, session_factory: sessionmaker[Session], proxies: int) -> FlaskClient:
    settings = make_settings(database_url, rate_limits=True, public_rate_limit="2 per minute",
                             trusted_proxy_count=proxies)
    return create_app({**_settings_dict(settings), "session_factory": session_factory}).test_client()


def _hits(client: FlaskClient, forwarded_for: str, times: int = 1) -> list[int]:
    return [client.get(VERIFY, headers={"X-Forwarded-For": forwarded_for}).status_code for _ in range(times)]


def test_behind_one_trusted_proxy_each_client_address_has_its_own_limit(
        database_url: str, session_factory: sessionmaker[Session]) -> None:
    client = _limited_client(database_url, session_factory, proxies=1)
    assert _hits(client, "203.0.113.7", 3)[-1] == 429
    assert _hits(client, "203.0.113.8") != [429]  # another resident behind the same proxy is not blocked
    # What the client put before the proxy's own entry is not believed: still 203.0.113.7.
    assert _hits(client, "198.51.100.1, 203.0.113.7") == [429]


def test_without_a_trusted_proxy_a_forged_forwarded_for_does_not_dodge_the_limit(
        database_url: str, session_factory: sessionmaker[Session]) -> None:
    client = _limited_client(database_url, session_factory, proxies=0)
    codes = [_hits(client, f"203.0.113.{i}")[0] for i in range(3)]
    assert codes[-1] == 429

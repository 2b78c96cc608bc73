"""Helpers shared by API tests: log in, fetch CSRF tokens, issue bearer tokens."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, event
from werkzeug.test import TestResponse

from subsidy_app.seed import DEMO_PASSWORD

_CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """Read the CSRF token from a page."""
    page = client.get(path).get_data(as_text=True)
    match = _CSRF_META.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> str:
    """Log in through the form; return a CSRF token valid for the new session."""
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf_token(client, "/staff")


def bearer(client: FlaskClient, username: str) -> dict[str, str]:
    """Log in as `username`, issue an API token and return the Authorization header."""
    csrf = login(client, username)
    response = client.post("/api/v1/tokens", json={"name": "test"}, headers={"X-CSRFToken": csrf})
    assert response.status_code == 201, response.get_json()
    client.post("/logout", data={"csrf_token": csrf})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


@contextlib.contextmanager
def statements_starting(engine: Engine, prefix: str) -> Iterator[list[str]]:
    """Collect the SQL statements starting with `prefix` that run on `engine` inside the block."""
    seen: list[str] = []

    def watch(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith(prefix):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", watch)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", watch)


def race(count: int, attempt: Callable[[int], str]) -> Counter[str]:
    """Run `attempt(i)` in `count` threads released together; count what each returned or refused with.

    A refusal counts as its reason: a DomainError's, or an IntegrityError's as http.uow() would answer it."""
    from sqlalchemy.exc import IntegrityError

    from subsidy_app.core import constraints
    from subsidy_app.core.errors import DomainError

    barrier = threading.Barrier(count)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            result = attempt(i)
        except DomainError as exc:
            result = exc.reason
        except IntegrityError as exc:
            result = constraints.error_for(exc).reason
        except Exception as exc:  # the caller's assertion shows it
            result = repr(exc)
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def reason_of(response: TestResponse) -> str | None:
    """The stable reason of an error answer: the envelope's for a program, the error page's for a browser."""
    if response.is_json:
        return str(response.get_json()["reason"])
    found = re.search(r'data-reason="([^"]*)"', response.get_data(as_text=True))
    return found.group(1) if found else None


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll `predicate` every 0.2 s until it holds or `timeout` seconds pass; say whether it held."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def freeze_clock(monkeypatch: pytest.MonkeyPatch, instant: dt.datetime) -> None:
    """Stop the platform's one clock (core.clock.utc_now) at `instant` for the rest of the test."""
    from subsidy_app.core import clock

    monkeypatch.setattr(clock, "utc_now", lambda: instant)

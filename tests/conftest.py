"""Test infrastructure: a migrated database, per-test rolled-back transactions, apps, real workers.

TEST_DATABASE_URL selects PostgreSQL (CI); without it tests run on SQLite and PostgreSQL-only tests
are skipped with a reason. REQUIRE_SERVICES=1 (set by .ci/run) turns such skips into failures.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app import migrate
from subsidy_app.audit.services import session_info
from subsidy_app.config import Settings
from subsidy_app.core.db import build_engine
from subsidy_app.core.jobs import InProcessDispatcher
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import UnitOfWork

TEST_DATA_KEY = "test-data-key-0123456789abcdef0123456789"
TEST_SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"
TEST_AUDIT_KEY = "test-audit-key-0123456789abcdef0123456789"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _worker_suffix() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _postgres_url() -> str | None:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return None
    from subsidy_app.config import normalise_database_url

    return normalise_database_url(base)


def _ensure_database(url: str) -> str:
    """Use a database per xdist worker so parallel runs don't share tables."""
    name = re.sub(r".*/", "", url.split("?")[0])
    target = f"{name}_{_worker_suffix()}"
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target}):
            conn.execute(text(f'CREATE DATABASE "{target}"'))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + target


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Return the URL of a freshly migrated test database."""
    pg = _postgres_url()
    if pg is None:
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but TEST_DATABASE_URL is not set")
        path = Path(tmp_path_factory.mktemp("db")) / "test.sqlite3"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        return url
    url = _ensure_database(pg)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """Return the shared engine."""
    eng = build_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def on_postgres(engine: Engine) -> bool:
    """Tell whether tests run on PostgreSQL."""
    return engine.dialect.name == "postgresql"


@pytest.fixture
def postgres(on_postgres: bool) -> None:
    """Require PostgreSQL: skip locally, fail in CI."""
    if not on_postgres:
        if REQUIRE_SERVICES:
            pytest.fail("this test needs PostgreSQL and REQUIRE_SERVICES=1")
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL (see README)")


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """Open a connection whose outer transaction is rolled back after the test."""
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions joined to the test's transaction: their commits become savepoints."""
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
                        info=session_info(key=TEST_AUDIT_KEY))


@pytest.fixture
def cipher() -> PersonalDataCipher:
    """The personal-data cipher of the tests."""
    return PersonalDataCipher(TEST_DATA_KEY)


@pytest.fixture
def uow(session_factory: sessionmaker[Session], cipher: PersonalDataCipher) -> Iterator[UnitOfWork]:
    """An open unit of work inside the test's transaction; jobs run in-process."""
    with UnitOfWork(session_factory, InProcessDispatcher(session_factory, cipher), cipher) as unit:
        yield unit


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Build test settings."""
    base = Settings(env="testing", database_url=database_url, secret_key=TEST_SECRET_KEY, data_key=TEST_DATA_KEY,
                    audit_key=TEST_AUDIT_KEY, testing=True)
    return base.with_overrides(**{"rate_limits": False, **overrides})


@pytest.fixture
def app(database_url: str, session_factory: sessionmaker[Session]) -> Flask:
    """An app whose database work happens inside the test's rolled-back transaction."""
    from subsidy_app.app import create_app

    settings = make_settings(database_url)
    return create_app({**_settings_dict(settings), "session_factory": session_factory})


def _settings_dict(settings: Settings) -> dict[str, Any]:
    values = {k: getattr(settings, k) for k in settings.__dataclass_fields__ if k != "extra"}
    return {**values, **settings.extra}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the rolled-back app."""
    return app.test_client()


@pytest.fixture
def demo(uow: UnitOfWork) -> dict[str, int]:
    """Seed the demo organisations and accounts inside the test transaction."""
    from subsidy_app.seed import seed_demo

    return seed_demo(uow)


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Use light argon2 parameters in tests: same algorithm, a fraction of the memory and time."""
    from argon2 import PasswordHasher

    from subsidy_app.identity import services

    original = services._hasher
    services._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    services._hasher = original


def _truncate_everything(engine: Engine) -> None:
    from subsidy_app.metadata import target_metadata

    tables = ", ".join(f'"{t.name}"' for t in target_metadata.sorted_tables)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Replica mode skips the audit table's append-only trigger: only test cleanup does this.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(target_metadata.sorted_tables):
                conn.execute(table.delete())
        conn.execute(text("INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, :h)"), {"h": "0" * 64})


@pytest.fixture
def committed(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions that really commit (for concurrency and worker tests); every table is emptied afterwards."""
    from subsidy_app.core.db import build_session_factory

    _truncate_everything(engine)
    yield build_session_factory(engine, info=session_info(key=TEST_AUDIT_KEY))
    _truncate_everything(engine)


@pytest.fixture
def committed_uow(committed: sessionmaker[Session], cipher: PersonalDataCipher) -> Iterator[UnitOfWork]:
    """A unit of work that really commits."""
    with UnitOfWork(committed, InProcessDispatcher(committed, cipher), cipher) as unit:
        yield unit


@pytest.fixture
def committed_app(database_url: str, committed: sessionmaker[Session]) -> Flask:
    """An app whose writes really commit (for concurrent requests)."""
    from subsidy_app.app import create_app

    return create_app({**_settings_dict(make_settings(database_url)), "session_factory": committed})


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Return a Redis URL for broker tests (a dedicated database number), or skip/fail."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but Redis does not answer at {url}")
        pytest.skip(f"needs Redis at {url} (set TEST_REDIS_URL)")
    return url


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Any]:
    """Start a redis-server of this test's own (tests.redis_server.RedisServer); it is killed afterwards."""
    from tests.redis_server import RedisServer, redis_server_binary

    if redis_server_binary() is None:
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but redis-server is not installed")
        pytest.skip("needs redis-server on PATH")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


def start_celery_worker(redis_url: str, database_url: str, log_path: Path, *args: str, **env: str) -> Any:
    """Start a real Celery worker process (solo pool) and wait until it is ready; `args` and `env` add options."""
    import subprocess
    import sys
    import time

    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "DATA_KEY": TEST_DATA_KEY,
           "SECRET_KEY": TEST_SECRET_KEY, "AUDIT_KEY": TEST_AUDIT_KEY,
           "AUDIT_CHECKPOINT_FILE": str(log_path.with_suffix(".checkpoints")), **env}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "subsidy_app.worker:celery_app", "worker", "--pool=solo",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat", *args],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "ready." not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"celery worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    return proc


def stop_celery_worker(proc: Any) -> None:
    """Stop a worker started by start_celery_worker (warm shutdown, then kill)."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def celery_worker(redis_url: str, database_url: str, postgres: None, committed: sessionmaker[Session]
                  ) -> Iterator[dict[str, str]]:
    """Start a real Celery worker process against Redis and the test database."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"celery-test-{os.getpid()}.log"
    checkpoints = log_path.with_suffix(".checkpoints")
    checkpoints.unlink(missing_ok=True)
    proc = start_celery_worker(redis_url, database_url, log_path)
    yield {"redis_url": redis_url, "log": str(log_path), "checkpoints": str(checkpoints)}
    stop_celery_worker(proc)


@pytest.fixture(autouse=True, scope="session")
def _jobs_registered() -> None:
    """Register every package's job handlers, as the app and the worker do at start."""
    from subsidy_app.app import register_jobs

    register_jobs()


@pytest.fixture
def factories(uow: UnitOfWork) -> Iterator[None]:
    """Bind the factory_boy factories to this test's session."""
    from tests.factories import ALL

    for f in ALL:
        f._meta.sqlalchemy_session = uow.session
    yield
    for f in ALL:
        f._meta.sqlalchemy_session = None

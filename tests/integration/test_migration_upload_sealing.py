"""Migration 0011 encrypts stored uploads in place under the configured data key and decrypts them on downgrade."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine, text
from sqlalchemy.dialects import postgresql

from subsidy_app import migrate
from subsidy_app.core.personal_data import PersonalDataCipher

KEY = "migration-data-key-0123456789abcdef0123"
BEFORE, AFTER = "0009_job_progress", "0011_upload_content_sealed"
FILE = "购买人身份证号\n11010519491231002X\n".encode()
SCAN = b"%PDF-1.4\n% 11010519491231002X\n%%EOF\n"
PENDING_OTP = "【吕梁以旧换新】您的登录查询验证码为482916，5分钟内有效。"
DONE_OTP = "【吕梁以旧换新】您的身份核验验证码为771204，5分钟内有效。"
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _table(name: str, *columns: sa.ColumnClause[object]) -> sa.TableClause:
    return sa.table(name, *columns)


def _seed(url: str) -> None:
    """Write what 0009 held: clear files, and SMS jobs carrying codes in clear."""
    engine = create_engine(url)
    blob, json = sa.LargeBinary, JSON_DOC
    c = sa.column
    with engine.begin() as conn:
        conn.execute(_table("county", c("code"), c("name")).insert().values(code="141102", name="离石区"))
        conn.execute(_table("organisation", c("id"), c("kind"), c("name"), c("credit_code"), c("county_code"),
                            c("city_level"), c("active"), c("created_at")).insert().values(
            id=1, kind="dealer", name="d", credit_code="x" * 18, county_code="141102", city_level=False, active=True,
            created_at=NOW))
        conn.execute(_table("appliance_store", c("id"), c("dealer_org_id"), c("name"), c("county_code"), c("address"),
                            c("poster_code"), c("created_at")).insert().values(
            id=1, dealer_org_id=1, name="s", county_code="141102", address="a", poster_code="p", created_at=NOW))
        conn.execute(_table("appliance_bulk_upload", c("id"), c("dealer_org_id"), c("store_id"), c("sha256"),
                            c("filename"), c("content", blob), c("state"), c("created_by"), c("created_at")).insert()
                     .values(id=1, dealer_org_id=1, store_id=1, sha256="a" * 64, filename="f.csv", content=FILE,
                             state="done", created_by="t", created_at=NOW))
        conn.execute(_table("payment_batch", c("id"), c("number"), c("state"), c("declared_count"),
                            c("declared_total"), c("created_by"), c("created_at")).insert().values(
            id=1, number="PB1", state="exported", declared_count=1, declared_total=1, created_by="t", created_at=NOW))
        conn.execute(_table("bank_result_import", c("id"), c("batch_id"), c("sha256"), c("filename"),
                            c("content", blob), c("report", json), c("imported_by"), c("imported_at")).insert()
                     .values(id=1, batch_id=1, sha256="b" * 64, filename="r.csv", content=FILE, report={},
                             imported_by="t", imported_at=NOW))
        conn.execute(_table("document_blob", c("sha256"), c("content_type"), c("size"), c("data", blob),
                            c("created_at")).insert().values(sha256="c" * 64, content_type="application/pdf",
                                                             size=len(SCAN), data=SCAN, created_at=NOW))
        outbox = _table("outbox_message", c("id"), c("job"), c("payload", json), c("created_at"),
                        c("dispatch_count"), c("attempts"), c("done_at"))
        conn.execute(outbox.insert().values(id=1, job="messaging.send_sms", created_at=NOW, dispatch_count=0,
                                            attempts=0, done_at=None,
                                            payload={"phone_enc": "x", "text": PENDING_OTP, "purpose": "otp:x"}))
        conn.execute(outbox.insert().values(id=2, job="messaging.send_sms", created_at=NOW, dispatch_count=1,
                                            attempts=1, done_at=NOW,
                                            payload={"phone_enc": "x", "text": DONE_OTP, "purpose": "otp:x"}))
        conn.execute(_table("sms_message", c("id"), c("phone_hash"), c("phone_enc", blob), c("phone_masked"),
                            c("purpose"), c("text"), c("created_at")).insert().values(
            id=1, phone_hash="h", phone_enc=b"x", phone_masked="136****5432", purpose="otp:x", text=DONE_OTP,
            created_at=NOW))
    engine.dispose()


def _stored(url: str) -> dict[str, object]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found: dict[str, object] = {
            "bulk": bytes(conn.scalar(text("SELECT content FROM appliance_bulk_upload")) or b""),
            "bank": bytes(conn.scalar(text("SELECT content FROM bank_result_import")) or b""),
            "scan": bytes(conn.scalar(text("SELECT data FROM document_blob")) or b""),
            "sms": conn.scalar(text("SELECT text FROM sms_message")),
        }
        payloads = sa.select(sa.column("id"), sa.column("payload", JSON_DOC)).select_from(sa.table("outbox_message"))
        found["payloads"] = {row.id: row.payload for row in conn.execute(payloads.order_by(sa.column("id")))}
    engine.dispose()
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sealing.sqlite3'}"
        return
    request.getfixturevalue("postgres")
    database_url: str = request.getfixturevalue("database_url")
    base, name = database_url.rsplit("/", 1)[0], database_url.rsplit("/", 1)[1] + "_sealing"
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_seals_stored_files_under_the_configured_key_and_downgrade_opens_them(
        empty_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = empty_database
    migrate.upgrade(url, BEFORE)
    _seed(url)
    monkeypatch.setenv("DATA_KEY", KEY)  # no key passed: the revision reads the configured one
    migrate.upgrade(url, AFTER)
    cipher = PersonalDataCipher(KEY)
    sealed = _stored(url)
    assert FILE not in sealed["bulk"] and cipher.decrypt_bytes(sealed["bulk"]) == FILE  # type: ignore[arg-type]
    assert cipher.decrypt_bytes(sealed["bank"]) == FILE  # type: ignore[arg-type]
    assert cipher.decrypt_bytes(sealed["scan"]) == SCAN  # type: ignore[arg-type]
    pending, done = sealed["payloads"][1], sealed["payloads"][2]  # type: ignore[index]
    assert "482916" not in pending["text"] and "******" in pending["text"]
    assert cipher.decrypt(base64.b64decode(pending["text_enc"])) == PENDING_OTP  # it still sends the code
    assert "771204" not in done["text"] and "text_enc" not in done
    assert "771204" not in str(sealed["sms"])
    migrate.downgrade(url, BEFORE, data_key=KEY)
    opened = _stored(url)
    assert (opened["bulk"], opened["bank"], opened["scan"]) == (FILE, FILE, SCAN)
    assert opened["payloads"][1] == {"phone_enc": "x", "text": PENDING_OTP, "purpose": "otp:x"}  # type: ignore[index]


def test_downgrade_with_another_key_stops_and_changes_nothing(empty_database: str) -> None:
    url = empty_database
    migrate.upgrade(url, BEFORE)
    _seed(url)
    migrate.upgrade(url, AFTER, data_key=KEY)
    sealed = _stored(url)
    with pytest.raises(RuntimeError, match="cannot decrypt with the configured DATA_KEY"):
        migrate.downgrade(url, BEFORE, data_key="another-key-0123456789abcdef0123456789")
    assert _stored(url) == sealed

"""uploads: stored files sealed under the data key and purgeable; one-time codes masked in the job outbox

Encrypts every stored upload in place under the configured DATA_KEY (the key `flask db upgrade` runs with);
downgrade decrypts them again, and gives a file purged meanwhile back as empty bytes. Old SMS jobs carrying a
one-time code get the code masked: pending ones keep the whole text encrypted beside it so they still send
(downgrade puts it back); finished ones, and the texts the local outbox recorded, stay masked: their codes
expired minutes after they were sent.

Revision ID: 0011_upload_content_sealed
Revises: 0010_one_live_row
Create Date: 2026-11-30 09:00:00
"""
from __future__ import annotations

import base64
import re
from typing import Any

from alembic import context, op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from subsidy_app.core.personal_data import CiphertextInvalid, PersonalDataCipher

revision = '0011_upload_content_sealed'
down_revision = '0010_one_live_row'
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
# (table, key column, bytes column)
SEALED = (("appliance_bulk_upload", "id", "content"), ("bank_result_import", "id", "content"),
          ("intake_import", "id", "content"), ("document_blob", "sha256", "data"))
PURGEABLE = ("appliance_bulk_upload", "bank_result_import")
_CODE = re.compile(r"[0-9]{4,}")  # the code in an OTP text; its only other number is the minutes it lasts
OUTBOX = sa.table("outbox_message", sa.column("id", sa.BigInteger), sa.column("job", sa.String),
                  sa.column("payload", JSON_DOC), sa.column("done_at", sa.DateTime),
                  sa.column("failed_at", sa.DateTime))


def _cipher() -> PersonalDataCipher:
    key = context.config.attributes.get("data_key")
    if not key:
        from subsidy_app.config import load_settings

        key = load_settings().data_key
    return PersonalDataCipher(key)


def _rows(table: str, key: str, column: str) -> list[Any]:
    return list(op.get_bind().execute(sa.text(f"SELECT {key} FROM {table} WHERE {column} IS NOT NULL "
                                              f"ORDER BY {key}")).scalars())


def _rewrite(table: str, key: str, column: str, change: Any) -> None:
    # One row at a time: document scans can be large, and there may be many.
    bind = op.get_bind()
    for value in _rows(table, key, column):
        blob = bind.execute(sa.text(f"SELECT {column} FROM {table} WHERE {key} = :k"), {"k": value}).scalar_one()
        bind.execute(sa.text(f"UPDATE {table} SET {column} = :b WHERE {key} = :k").bindparams(
            sa.bindparam("b", type_=sa.LargeBinary)), {"b": change(bytes(blob), f"{table} {key}={value}"), "k": value})


def _seal(cipher: PersonalDataCipher) -> Any:
    def seal(blob: bytes, _where: str) -> bytes:
        try:
            cipher.decrypt_bytes(blob)
        except CiphertextInvalid:
            return cipher.encrypt_bytes(blob)
        return blob  # already sealed (an earlier, interrupted run on a database without transactional DDL)
    return seal


def _unseal(cipher: PersonalDataCipher) -> Any:
    def unseal(blob: bytes, where: str) -> bytes:
        try:
            return cipher.decrypt_bytes(blob)
        except CiphertextInvalid:
            raise RuntimeError(f"{where}: cannot decrypt with the configured DATA_KEY") from None
    return unseal


def _check_key(cipher: PersonalDataCipher) -> None:
    """Stop before changing anything when the key does not open the first sealed value of each kind."""
    bind = op.get_bind()
    for table, key, column in SEALED:
        first = bind.execute(sa.text(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL "
                                     f"ORDER BY {key} LIMIT 1")).first()
        if first is not None:
            _unseal(cipher)(bytes(first[1]), f"{table} {key}={first[0]}")
    for row in _otp_jobs():
        if "text_enc" in row.payload:
            _unseal(cipher)(base64.b64decode(row.payload["text_enc"]), f"outbox_message id={row.id}")
            break


def _otp_jobs() -> list[Any]:
    return [r for r in op.get_bind().execute(sa.select(OUTBOX.c.id, OUTBOX.c.payload, OUTBOX.c.done_at,
                                                       OUTBOX.c.failed_at)
                                             .where(OUTBOX.c.job == "messaging.send_sms"))
            if str((r.payload or {}).get("purpose", "")).startswith("otp:")]


def _mask_otp_jobs(cipher: PersonalDataCipher) -> None:
    for row in _otp_jobs():
        payload = dict(row.payload)
        text = str(payload.get("text", ""))
        masked = _CODE.sub(lambda m: "*" * len(m.group()), text)
        if masked == text:
            continue
        if row.done_at is None and row.failed_at is None and "text_enc" not in payload:
            payload["text_enc"] = base64.b64encode(cipher.encrypt(text)).decode("ascii")
        payload["text"] = masked
        op.get_bind().execute(OUTBOX.update().where(OUTBOX.c.id == row.id).values(payload=payload))


def _mask_recorded_codes() -> None:
    bind = op.get_bind()
    for row in bind.execute(sa.text("SELECT id, text FROM sms_message WHERE purpose LIKE 'otp:%'")).all():
        masked = _CODE.sub(lambda m: "*" * len(m.group()), row.text)
        if masked != row.text:
            bind.execute(sa.text("UPDATE sms_message SET text = :t WHERE id = :i"), {"t": masked, "i": row.id})


def _unmask_pending_otp_jobs(cipher: PersonalDataCipher) -> None:
    for row in _otp_jobs():
        payload = dict(row.payload)
        if "text_enc" not in payload:
            continue
        payload["text"] = cipher.decrypt(base64.b64decode(payload.pop("text_enc")))
        op.get_bind().execute(OUTBOX.update().where(OUTBOX.c.id == row.id).values(payload=payload))


def upgrade() -> None:
    with op.batch_alter_table('appliance_bulk_upload', schema=None) as batch_op:
        batch_op.add_column(sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('content', existing_type=sa.LargeBinary(), nullable=True)
    with op.batch_alter_table('bank_result_import', schema=None) as batch_op:
        batch_op.alter_column('content', existing_type=sa.LargeBinary(), nullable=True)
    # Files processed before this revision have no finish time: their upload time stands in for it.
    op.execute("UPDATE appliance_bulk_upload SET finished_at = created_at WHERE state = 'done'")
    cipher = _cipher()
    for table, key, column in SEALED:
        _rewrite(table, key, column, _seal(cipher))
    _mask_otp_jobs(cipher)
    _mask_recorded_codes()


def downgrade() -> None:
    cipher = _cipher()
    _check_key(cipher)
    _unmask_pending_otp_jobs(cipher)
    for table, key, column in SEALED:
        _rewrite(table, key, column, _unseal(cipher))
    for table in PURGEABLE:
        # A purged file cannot come back; the older schema requires bytes, so it gets none.
        op.execute(sa.text(f"UPDATE {table} SET content = :empty WHERE content IS NULL").bindparams(
            sa.bindparam("empty", b"", type_=sa.LargeBinary)))
    with op.batch_alter_table('bank_result_import', schema=None) as batch_op:
        batch_op.alter_column('content', existing_type=sa.LargeBinary(), nullable=False)
    with op.batch_alter_table('appliance_bulk_upload', schema=None) as batch_op:
        batch_op.alter_column('content', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('finished_at')

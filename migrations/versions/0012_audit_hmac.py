"""audit: chain events with HMAC-SHA256 under AUDIT_KEY instead of plain SHA-256; re-chains the events there are

Why re-chain rather than store a chain version per event: the old links were unkeyed, so they never proved
anything against whoever can write the database; that person could recompute all of them after any edit.
Re-keying them gives up no protection. Keeping them as "version 1" would weaken the new chain: a rewrite could
mark every event version 1 and recompute plain SHA-256, and the boundary between the versions would itself be
data the owner can change. So there is one rule for the whole chain.

The old chain (links, numbering, head and every checkpoint that found it intact) is verified first. If it is
already broken, nothing is changed and the upgrade stops naming the first bad event: re-keying must never
launder an edit the old chain still shows. Checkpoints are carried over to the new hashes of their positions,
and an `audit.rekeyed` event (chained by the sealer under the key) records the old head's hash, so any copy
of the old head kept outside can still be matched.

The key is AUDIT_KEY from the environment, as the application reads it: run the upgrade with the same value.

Revision ID: 0012_audit_hmac
Revises: 0011_upload_content_sealed
Create Date: 2026-11-30 09:00:00
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from subsidy_app.audit.domain import GENESIS_HASH, AuditEntry, ChainKey, unkeyed_link
from subsidy_app.config import load_settings

revision = '0012_audit_hmac'
down_revision = '0011_upload_content_sealed'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
EVENTS = sa.table(
    "audit_event", sa.column("seq", sa.BigInteger), sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String), sa.column("action", sa.String), sa.column("entity_type", sa.String),
    sa.column("entity_id", sa.String), sa.column("summary", JSON_DOC), sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)
NEW_EVENT = sa.table(
    "audit_event", sa.column("occurred_at", sa.DateTime(timezone=True)), sa.column("actor", sa.String),
    sa.column("action", sa.String), sa.column("entity_type", sa.String), sa.column("entity_id", sa.String),
    sa.column("summary", JSON_DOC),
)
HEAD = sa.table("audit_head", sa.column("id", sa.Integer), sa.column("last_seq", sa.BigInteger),
                sa.column("last_hash", sa.String))
CHECKPOINTS = sa.table("audit_checkpoint", sa.column("id", sa.BigInteger), sa.column("last_seq", sa.BigInteger),
                       sa.column("last_hash", sa.String), sa.column("ok", sa.Boolean))
BATCH = 5000
Link = Callable[[str, AuditEntry], str]


def _sealed(conn: sa.Connection) -> Iterator[list[Any]]:
    after = 0
    while True:
        rows = conn.execute(sa.select(EVENTS).where(EVENTS.c.seq > after).order_by(EVENTS.c.seq).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        after = rows[-1].seq


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(row.seq, row.occurred_at, row.actor, row.action, row.entity_type, row.entity_id, row.summary)


def _stop(seq: int, problem: str) -> None:
    raise RuntimeError(
        f"audit chain is already broken at event #{seq}: {problem}. Nothing was changed. Find out what happened "
        "(`lvliang audit verify` on the release before this one) before upgrading: re-keying the chain would hide it."
    )


def _check(conn: sa.Connection, link: Link, checkpoints: list[Any]) -> tuple[int, str, dict[int, str]]:
    """Verify the chain under its current rule; return its last seq and hash and the hash at each checkpoint."""
    vouching: dict[int, set[str]] = {}
    for cp in checkpoints:
        if cp.ok:
            vouching.setdefault(cp.last_seq, set()).add(cp.last_hash)
    wanted = {cp.last_seq for cp in checkpoints}
    at: dict[int, str] = {}
    seq, prev = 0, GENESIS_HASH
    for rows in _sealed(conn):
        for row in rows:
            seq += 1
            if row.seq != seq:
                _stop(seq, f"event #{seq} is missing")
            if row.prev_hash != prev or link(prev, _entry(row)) != row.hash:
                _stop(seq, f"event #{seq} was altered or does not link")
            if vouching.get(seq, {row.hash}) != {row.hash}:
                _stop(seq, f"event #{seq} differs from a checkpoint")
            if seq in wanted:
                at[seq] = row.hash
            prev = row.hash
    head = conn.execute(sa.select(HEAD.c.last_seq, HEAD.c.last_hash).where(HEAD.c.id == 1)).first()
    if head is not None and (head.last_seq, head.last_hash) != (seq, prev):
        _stop(seq + 1, f"the head records #{head.last_seq}")
    if any(cp.ok and cp.last_seq > seq for cp in checkpoints):
        _stop(seq + 1, "a checkpoint records a later event")
    return seq, prev, at


def _rechain(old: Link, new: Link, scheme: str) -> tuple[int, str, str]:
    """Re-link every sealed event from `old` to `new`; return the last seq and its old and new hashes."""
    conn = op.get_bind()
    checkpoints = conn.execute(sa.select(CHECKPOINTS)).all()
    last, old_tail, old_at = _check(conn, old, checkpoints)
    if last == 0:
        return 0, GENESIS_HASH, GENESIS_HASH
    postgres = conn.dialect.name == "postgresql"
    if postgres:  # the append-only trigger refuses every change to a sealed event; only this migration may
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    change = (EVENTS.update().where(EVENTS.c.seq == sa.bindparam("b_seq"))
              .values(prev_hash=sa.bindparam("b_prev"), hash=sa.bindparam("b_hash")))
    new_at: dict[int, str] = {}
    prev = GENESIS_HASH
    for rows in _sealed(conn):
        updates = []
        for row in rows:
            digest = new(prev, _entry(row))
            updates.append({"b_seq": row.seq, "b_prev": prev, "b_hash": digest})
            if row.seq in old_at:
                new_at[row.seq] = digest
            prev = digest
        conn.execute(change, updates)
    if postgres:
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
    conn.execute(HEAD.update().where(HEAD.c.id == 1).values(last_hash=prev))
    for cp in checkpoints:
        if cp.last_seq in new_at and cp.last_hash == old_at[cp.last_seq]:
            conn.execute(CHECKPOINTS.update().where(CHECKPOINTS.c.id == cp.id).values(last_hash=new_at[cp.last_seq]))
    log.info("audit chain re-linked with %s: %d events; head #%d was %s, is now %s", scheme, last, last, old_tail,
             prev)
    return last, old_tail, prev


def upgrade() -> None:
    key = ChainKey(load_settings().audit_key)
    last, old_tail, new_tail = _rechain(unkeyed_link, key.link, "HMAC-SHA256 under AUDIT_KEY")
    if last:
        # Written unsealed, as every event is; the sealer chains it under the key.
        op.bulk_insert(NEW_EVENT, [{
            "occurred_at": dt.datetime.now(dt.UTC), "actor": "system", "action": "audit.rekeyed",
            "entity_type": "audit", "entity_id": "chain",
            "summary": {"after": {"events": last, "unkeyed_head": {"seq": last, "hash": old_tail},
                                  "keyed_head_hash": new_tail}},
        }])


def downgrade() -> None:
    key = ChainKey(load_settings().audit_key)
    _rechain(key.link, unkeyed_link, "plain SHA-256 (no key)")

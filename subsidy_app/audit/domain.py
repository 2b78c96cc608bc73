"""Pure audit-chain rules: canonical form of an event and its hash link."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One audit event as it is chained (personal data already masked)."""

    seq: int
    occurred_at: dt.datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    summary: dict[str, Any]


def canonical(entry: AuditEntry) -> str:
    """Return the canonical JSON the hash covers."""
    return json.dumps(
        {
            "seq": entry.seq,
            "at": entry.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": entry.actor,
            "action": entry.action,
            "entity": [entry.entity_type, entry.entity_id],
            "summary": entry.summary,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


def chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    """Return the hash linking `entry` to its predecessor."""
    return hashlib.sha256((prev_hash + canonical(entry)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first place the chain does not hold."""

    seq: int
    problem: str


def find_break(rows: list[tuple[AuditEntry, str, str]], *, expected_prev: str, expected_seq: int) -> ChainBreak | None:
    """Check consecutive (entry, prev_hash, hash) rows; return the first break or None."""
    prev = expected_prev
    seq = expected_seq
    for entry, stored_prev, stored_hash in rows:
        if entry.seq != seq:
            return ChainBreak(seq, f"event #{seq} is missing (next found is #{entry.seq})")
        if stored_prev != prev:
            return ChainBreak(seq, f"event #{seq} does not link to the previous event")
        if chain_hash(prev, entry) != stored_hash:
            return ChainBreak(seq, f"event #{seq} was altered after it was written")
        prev = stored_hash
        seq += 1
    return None

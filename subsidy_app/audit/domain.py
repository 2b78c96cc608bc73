"""Pure audit-chain rules: canonical form of an event, its keyed link, and the walk that checks a chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
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
    # SQLite hands back naive datetimes; they were written in UTC.
    at = entry.occurred_at if entry.occurred_at.tzinfo else entry.occurred_at.replace(tzinfo=dt.UTC)
    return json.dumps(
        {
            "seq": entry.seq,
            "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
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


class ChainKey:
    """The AUDIT_KEY secret: it links each event to the one before by HMAC-SHA256 and is never stored or shown.

    Unkeyed, whoever can write the database could recompute every hash after an edit; keyed, only a holder of
    AUDIT_KEY can, and that key lives in the process's configuration, not in the database.
    """

    __slots__ = ("_secret",)

    def __init__(self, secret: str) -> None:
        """Keep the secret; an empty one is refused."""
        if not secret:
            raise ValueError("AUDIT_KEY must not be empty")
        self._secret = secret.encode("utf-8")

    def __repr__(self) -> str:
        return "ChainKey(<hidden>)"

    def link(self, prev_hash: str, entry: AuditEntry) -> str:
        """Return the keyed hash linking `entry` to its predecessor."""
        return hmac.new(self._secret, (prev_hash + canonical(entry)).encode("utf-8"), hashlib.sha256).hexdigest()


def unkeyed_link(prev_hash: str, entry: AuditEntry) -> str:
    """Return the plain SHA-256 link the chain used before AUDIT_KEY (kept for the migration that re-keys it)."""
    return hashlib.sha256((prev_hash + canonical(entry)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first place the chain does not hold."""

    seq: int
    problem: str


@dataclass(frozen=True)
class Checkpoint:
    """A chain position an earlier verification vouched for: event `seq` then had hash `hash`."""

    seq: int
    hash: str
    source: str  # where it was recorded, for the report ("checkpoint 2026-11-29 02:00 UTC", "FILE line 3")


# Hex in groups of eight: the log filter masks any run of 16+ digits as a card number, which a plain
# 64-character hex hash holds a few times in a hundred; grouped, no run is longer than eight.
_GROUP = 8
_LINE = re.compile(r"audit checkpoint seq=(\d+) hash=([0-9a-f:]+)")


def checkpoint_line(seq: int, hash_: str, at: dt.datetime) -> str:
    """Return the line the log and the checkpoint file get for a verified chain position."""
    grouped = ":".join(hash_[i:i + _GROUP] for i in range(0, len(hash_), _GROUP))
    return f"audit checkpoint seq={seq} hash={grouped} at={at.astimezone(dt.UTC).isoformat(timespec='seconds')}"


def parse_checkpoint_lines(lines: Iterable[str], *, source: str) -> list[Checkpoint]:
    """Read checkpoints from a checkpoint file or a log; other lines are skipped, a damaged one is refused."""
    found = []
    for number, line in enumerate(lines, start=1):
        if "audit checkpoint" not in line:
            continue
        match = _LINE.search(line)
        digest = match.group(2).replace(":", "") if match else ""
        if match is None or len(digest) != 64:
            raise ValueError(f"{source} line {number} is not a checkpoint line: {line.strip()[:120]!r}")
        found.append(Checkpoint(int(match.group(1)), digest, f"{source} line {number}"))
    return found


class ChainWalk:
    """Check sealed events in order: numbering, links, keyed hashes, and every checkpoint on the way."""

    def __init__(self, key: ChainKey, checkpoints: Iterable[Checkpoint] = ()) -> None:
        """Start at the genesis; `checkpoints` are positions the chain must still pass through."""
        self._key = key
        self._points: dict[int, list[Checkpoint]] = {}
        for point in checkpoints:
            self._points.setdefault(point.seq, []).append(point)
        self.last_seq, self.last_hash = 0, GENESIS_HASH
        self._vouched = 0  # the last position a checkpoint confirmed

    @property
    def checked(self) -> int:
        """Return how many events hold so far."""
        return self.last_seq

    def feed(self, rows: Iterable[tuple[AuditEntry, str, str]]) -> ChainBreak | None:
        """Check the next (entry, prev_hash, hash) rows; return the first break or None."""
        for entry, stored_prev, stored_hash in rows:
            seq = self.last_seq + 1
            if entry.seq != seq:
                return ChainBreak(seq, f"event #{seq} is missing (next found is #{entry.seq})")
            if stored_prev != self.last_hash:
                return ChainBreak(seq, f"event #{seq} does not link to the previous event")
            if not hmac.compare_digest(self._key.link(self.last_hash, entry), stored_hash):
                return ChainBreak(seq, f"event #{seq} was altered after it was written (or not sealed under AUDIT_KEY)")
            for point in self._points.pop(seq, ()):
                if point.hash != stored_hash:
                    # A hash covers every event before it: one of those after the last vouched-for one differs.
                    return ChainBreak(seq, f"the chain from #{self._vouched + 1} to #{seq} differs from what "
                                           f"{point.source} recorded for #{seq}")
                self._vouched = seq
            self.last_seq, self.last_hash = seq, stored_hash
        return None

    def finish(self, head: tuple[int, str] | None) -> ChainBreak | None:
        """Check what lies past the last event: checkpoints and the head must not record more than was found."""
        after = self.last_seq + 1
        for seq in sorted(self._points):
            for point in self._points[seq]:
                if seq == 0 and point.hash == GENESIS_HASH:
                    continue
                if seq == 0:
                    return ChainBreak(1, f"the chain's start differs from what {point.source} recorded")
                return ChainBreak(after, f"events from #{after} are missing: {point.source} recorded #{seq}")
        if head is None:
            return None
        head_seq, head_hash = head
        if head_seq > self.last_seq:
            return ChainBreak(after, f"events after #{self.last_seq} are missing (the head records #{head_seq})")
        if head_seq < self.last_seq:
            return ChainBreak(head_seq + 1, f"events #{head_seq + 1} to #{self.last_seq} lie past the head")
        if head_hash != self.last_hash:
            return ChainBreak(self.last_seq, f"event #{self.last_seq} differs from the chain head")
        return None

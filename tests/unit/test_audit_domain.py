"""Audit chain rules without a database: the keyed link and the checkpoint line."""

from __future__ import annotations

import datetime as dt

import pytest

from subsidy_app.audit.domain import AuditEntry, ChainKey, checkpoint_line, parse_checkpoint_lines, unkeyed_link
from subsidy_app.core.personal_data import mask_personal_text

ENTRY = AuditEntry(1, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "system", "x.y", "t", "1", {"after": None})


def test_the_link_depends_on_the_key() -> None:
    assert ChainKey("k" * 40).link("0" * 64, ENTRY) != ChainKey("j" * 40).link("0" * 64, ENTRY)
    assert ChainKey("k" * 40).link("0" * 64, ENTRY) != unkeyed_link("0" * 64, ENTRY)


def test_the_key_never_shows_in_its_repr() -> None:
    assert "secret" not in repr(ChainKey("secret-" * 6))
    with pytest.raises(ValueError, match="AUDIT_KEY"):
        ChainKey("")


def test_a_checkpoint_line_survives_the_log_masking_of_card_numbers() -> None:
    digest = "1234567890123456789" + "a" * 45  # a hash may hold a run of digits as long as a card number
    line = checkpoint_line(42, digest, dt.datetime(2026, 11, 29, 2, 0, tzinfo=dt.UTC))
    assert mask_personal_text(line) == line
    [point] = parse_checkpoint_lines(["2026-11-29 02:00:01 INFO " + line], source="log")
    assert (point.seq, point.hash, point.source) == (42, digest, "log line 1")

"""Publishing rule versions: the shipped files load, published versions are immutable, corrections are new."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Connection
from sqlalchemy.orm import sessionmaker

from subsidy_app.core.errors import Conflict, ValidationFailed
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import NullDispatcher, UnitOfWork
from subsidy_app.rules import services
from subsidy_app.rules.ruleset import DATA_DIR


def _shipped() -> list[Path]:
    return sorted(DATA_DIR.glob("*.yaml"))


def test_shipped_versions_publish_once(uow: UnitOfWork) -> None:
    first = services.publish_rule_files(uow, actor="t", paths=_shipped())
    uow.commit()
    again = services.publish_rule_files(uow, actor="t", paths=_shipped())
    assert len(first.published) == len(_shipped()) >= 11
    assert again.published == () and len(again.unchanged) == len(_shipped())


def test_changing_a_published_version_is_refused(uow: UnitOfWork, tmp_path: Path) -> None:
    source = DATA_DIR / "car_scrap-2025.yaml"
    services.publish_rule_files(uow, actor="t", paths=[source])
    uow.commit()
    edited = tmp_path / source.name
    edited.write_text(source.read_text(encoding="utf-8").replace("20000", "25000"), encoding="utf-8")
    with pytest.raises(Conflict) as err:
        services.publish_rule_files(uow, actor="t", paths=[edited])
    assert err.value.reason == "rules.immutable"


def test_overlapping_window_for_same_programme_and_category_is_refused(uow: UnitOfWork, tmp_path: Path) -> None:
    services.publish_rule_files(uow, actor="t", paths=_shipped())
    uow.commit()
    text = (DATA_DIR / "appliance-2025.yaml").read_text(encoding="utf-8")
    clash = tmp_path / "appliance-2025-other.yaml"
    clash.write_text(text.replace("appliance-2025", "appliance-2025x").replace("series: appliance-2025",
                                                                              "series: appliance-2025x"),
                     encoding="utf-8")
    with pytest.raises(ValidationFailed):
        services.publish_rule_files(uow, actor="t", paths=[clash])


def test_flask_rules_load_command(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["rules", "load"])
    assert result.exit_code == 0, result.output
    assert "published car_scrap-2025" in result.output
    listed = app.test_cli_runner().invoke(args=["rules", "list"])
    assert "car_scrap-2026" in listed.output


def test_reevaluation_uses_the_version_decided_under(uow: UnitOfWork) -> None:
    import datetime as dt
    from decimal import Decimal

    from subsidy_app.rules.domain import Facts

    services.publish_rule_files(uow, actor="t", paths=_shipped())
    uow.commit()
    cache = services.VersionCache()
    facts = Facts(programme="appliance", purchase_date=dt.date(2025, 5, 1), price=Decimal("3000.00"),
                  category="refrigerator", energy_grade=2)
    decided = services.quote(cache, uow, facts=facts)
    later = services.reevaluate(cache, uow, version_code=decided.version_code, facts=facts)
    assert later.version_code == decided.version_code == "appliance-2025"
    assert later.amount == decided.amount == Decimal("450.00")


def test_the_version_cache_is_kept_per_database(uow: UnitOfWork, connection: Connection,
                                                cipher: PersonalDataCipher) -> None:
    cache = services.VersionCache()
    assert cache.versions(uow) == ()  # nothing published yet: cached for this database
    services.publish_rule_files(uow, actor="t", paths=_shipped())
    uow.commit()
    # Another database (here another session factory) must not get the first one's cached empty list, as a test
    # app got the previous test's (a test fuzzing the till before any rule was published broke the next ones).
    other = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    with UnitOfWork(other, NullDispatcher(), cipher) as elsewhere:
        assert {v.code for v in cache.versions(elsewhere)} >= {"appliance-2025", "digital-2025"}
    assert cache.versions(uow) == ()  # still within CACHE_SECONDS for the first
    cache.invalidate()
    assert cache.versions(uow) != ()


def test_the_process_has_one_version_cache_and_a_publish_is_seen_at_once(uow: UnitOfWork) -> None:
    cache = services.version_cache()
    assert cache is services.version_cache()
    assert cache.versions(uow) == ()  # nothing published yet, and cached for this database
    services.publish_rule_files(uow, actor="t", paths=_shipped())
    assert cache.versions(uow) == ()  # not committed yet: nobody else may act on it
    uow.commit()
    # Once committed, every caller (quotes, tills, claims, checks, bulk jobs) reads the new versions at once,
    # not after CACHE_SECONDS: they all read this one cache, which the publish refreshed.
    assert {v.code for v in cache.versions(uow)} >= {"appliance-2025", "digital-2025"}

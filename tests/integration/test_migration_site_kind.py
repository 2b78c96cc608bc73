"""The site-kind revision gives existing sites the kind their recycler's licences say (both or neither: general)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import create_engine

from subsidy_app import migrate

BEFORE, AFTER = "0016_hand_in_tally", "0017_site_kind"
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
c = sa.column


def _seed(conn: sa.Connection) -> None:
    conn.execute(sa.table("county", c("code"), c("name")).insert().values(code="141102", name="离石区"))
    orgs = sa.table("organisation", c("id"), c("kind"), c("name"), c("credit_code"), c("county_code"),
                    c("city_level"), c("active"), c("created_at"))
    qualifications = sa.table("recycler_qualification", c("organisation_id"), c("kind"), c("number"),
                              c("valid_from"), c("created_at"))
    site = sa.table("recycling_site", c("id"), c("organisation_id"), c("code"), c("name"), c("level"),
                    c("county_code"), c("address"), c("active"), c("created_at"))
    for org_id, licences in ((1, ["dismantling"]), (2, ["renewable_filing"]), (3, ["dismantling", "renewable_filing"]),
                             (4, [])):
        conn.execute(orgs.insert().values(id=org_id, kind="recycler", name=f"r{org_id}", credit_code=f"{org_id:018d}",
                                          county_code="141102", city_level=False, active=True, created_at=NOW))
        for licence in licences:
            conn.execute(qualifications.insert().values(organisation_id=org_id, kind=licence,
                                                        number=f"{licence}-{org_id}", valid_from=dt.date(2020, 1, 1),
                                                        created_at=NOW))
        conn.execute(site.insert().values(id=org_id, organisation_id=org_id, code="S", name="s", level="drop_off",
                                          county_code="141102", address="", active=True, created_at=NOW))


def test_existing_sites_get_their_recyclers_kind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kinds.sqlite3'}"
    migrate.upgrade(url, BEFORE)
    engine = create_engine(url)
    with engine.begin() as conn:
        _seed(conn)
    migrate.upgrade(url, AFTER)
    with engine.connect() as conn:
        kinds = dict(conn.execute(sa.text("SELECT id, kind FROM recycling_site ORDER BY id")).all())
    assert kinds == {1: "vehicles", 2: "renewable", 3: "general", 4: "general"}
    migrate.downgrade(url, BEFORE)
    with engine.connect() as conn:
        assert "kind" not in {col["name"] for col in sa.inspect(conn).get_columns("recycling_site")}
    engine.dispose()

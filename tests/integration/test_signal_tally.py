"""The fraud-signal tally follows every path that sets a sale's signals, and the dashboard draws it."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.operations import Operations
from flask.testing import FlaskClient
from sqlalchemy import delete

from subsidy_app.appliances import signal_tally
from subsidy_app.appliances.models import SignalTally
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.dashboard import panels
from subsidy_app.identity.domain import COUNTIES
from tests.appliance_fixtures import FRIDGE, TABLET, appliance_world, buyer_token, sale_body, sell
from tests.car_fixtures import resident_id
from tests.helpers import bearer

HEADER = "商品条码,序列号/IMEI,成交价,发票号码,销售日期,购买人姓名,购买人身份证号,购买人手机号\n"
MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "0020_signal_tally.py"


def _signalled_sales(client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    """A till sale priced over the reference (fraud.price) and a file whose fourth buyer shares a phone."""
    world = appliance_world(uow, demo)
    headers = bearer(client, "dealer.appliance")
    status, sale = sell(client, headers, sale_body(world.store_id, buyer_token(uow, world.store_id, 61), FRIDGE,
                                                   "5999.00", "2025-03-01"))
    assert status == 200 and sale["eligible"], sale
    rows = [f"{TABLET},TBS{i:07d},2699.00,2514{i:016d},2025-03-01,买家{i},"
            f"{resident_id(f'14110219710101{i:03d}')},13900002222\n" for i in range(4)]
    response = client.post("/api/v1/appliance-sales/bulk", headers=headers, content_type="multipart/form-data",
                           data={"store_id": str(world.store_id),
                                 "file": (io.BytesIO((HEADER + "".join(rows)).encode()), "s.csv")})
    report = response.get_json()["report"]
    assert response.status_code in (200, 201) and report["error_count"] == 0, report["errors"]


def test_the_tally_equals_the_sales_signals_and_the_panel_draws_it(client: FlaskClient, uow: UnitOfWork,
                                                                  demo: dict[str, int]) -> None:
    _signalled_sales(client, uow, demo)
    kept = signal_tally.stored(uow)
    assert kept == signal_tally.recount(uow)
    assert {code for (_c, _d, code) in kept} == {"fraud.price", "fraud.phone"}
    scope = panels.Scope(tuple(COUNTIES), dt.date(2025, 1, 1), dt.date(2025, 12, 31), True)
    panel = panels.fraud_signals(uow, scope)
    # The till sale and the four tablets are priced over their reference; the fourth buyer shares a phone.
    assert panel.rows == [["售价高于参考价超过允许幅度", 5], ["同一手机号多次补贴购买", 1]]
    assert panels.fraud_signals(uow, panels.Scope(("141181",), scope.date_from, scope.date_to, False)).rows == []


def test_the_migration_backfills_what_a_recount_gives(client: FlaskClient, uow: UnitOfWork,
                                                      demo: dict[str, int]) -> None:
    _signalled_sales(client, uow, demo)
    expected = signal_tally.recount(uow)
    uow.session.execute(delete(SignalTally))
    spec = importlib.util.spec_from_file_location("signal_tally_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(uow.session.connection())):
        migration._backfill()
    assert signal_tally.stored(uow) == expected and sum(expected.values()) == 6

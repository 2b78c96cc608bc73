"""A page form submitted twice (a double click, a resent POST) is done once and answers with the first result."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from recycling.models import Intake
from subsidy_app.core.clock import business_date
from subsidy_app.core.uow import UnitOfWork
from tests.helpers import login
from tests.recycling_support import build_network

ROOT = Path(__file__).resolve().parents[2]
YESTERDAY = (business_date() - dt.timedelta(days=1)).isoformat()


@pytest.fixture
def network(uow: UnitOfWork, demo: dict[str, int]):
    return build_network(uow, demo)


def test_every_post_form_of_every_template_carries_a_one_time_key() -> None:
    templates = [p for p in ROOT.glob("**/templates/**/*.html") if ".venv" not in p.parts]
    missing, seen = [], 0
    for path in templates:
        for form in re.findall(r"<form\b[^>]*method=\"post\"[^>]*>.*?</form>", path.read_text(), re.S | re.I):
            seen += 1
            if 'name="form_key"' not in form:
                missing.append(f"{path.relative_to(ROOT)}: {form[:80]}")
    assert seen >= 15 and missing == []


def _intakes(uow: UnitOfWork) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(Intake)) or 0)


def test_the_intake_form_sent_twice_records_one_intake_and_shows_the_first_result(
        client: FlaskClient, uow: UnitOfWork, network) -> None:
    csrf = login(client, "recycler.dismantler")
    page = client.get("/recycling/intake").get_data(as_text=True)
    key = re.search(r'name="form_key" value="([^"]+)"', page)
    assert key is not None
    form = {"csrf_token": csrf, "form_key": key.group(1), "site_id": network.drop_off, "source": "resident",
            "category": "office.printer", "units": "1", "weight_kg": "8.5", "occurred_on": YESTERDAY}
    before = _intakes(uow)
    first = client.post("/recycling/intake", data=form)
    again = client.post("/recycling/intake", data=form)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"] and again.headers["Idempotent-Replayed"] == "true"
    assert _intakes(uow) == before + 1
    shown = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "该表单已提交过,未重复办理" in shown
    other = client.post("/recycling/intake", data={**form, "form_key": "a-fresh-key-for-a-second-intake"})
    assert other.status_code == 302 and _intakes(uow) == before + 2  # a new form is a new intake
    edited = client.post("/recycling/intake", data={**form, "units": "2"})  # back, change, send: a new intake
    assert edited.status_code == 302 and "Idempotent-Replayed" not in edited.headers
    assert _intakes(uow) == before + 3

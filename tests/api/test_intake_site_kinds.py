"""The intake form offers a site only the categories of its kind, chooses none for the clerk, warns on odd weights."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from flask.testing import FlaskClient

from recycling import sites
from recycling.domain import CATEGORIES, Domain, SiteLevel
from recycling.site_kinds import UNIT_WEIGHT_KG, SiteKind, categories_for, unit_weight_warning
from subsidy_app.core.uow import UnitOfWork
from tests.helpers import bearer, login

YESTERDAY = (dt.date.today() - dt.timedelta(days=1)).isoformat()


def _site(uow: UnitOfWork, demo: dict[str, int], kind: SiteKind, code: str) -> int:
    org = demo["org:recycler:dismantler" if kind is SiteKind.VEHICLES else "org:recycler:renewable"]
    site_id = sites.register_site(uow, actor="t", organisation_id=org, code=code, name=f"测试{code}",
                                  level=SiteLevel.DROP_OFF, county_code="141182", kind=kind)
    uow.commit()
    return site_id


def _options(page: str) -> list[str]:
    select = re.search(r'<select id="category".*?</select>', page, re.S)
    assert select is not None
    return re.findall(r'<option value="([^"]*)"', select.group(0))


def test_a_renewable_drop_off_is_offered_no_car_and_nothing_is_chosen(client: FlaskClient, demo: dict[str, int],
                                                                       uow: UnitOfWork) -> None:
    _site(uow, demo, SiteKind.RENEWABLE, "R-1")
    login(client, "recycler.renewable")
    page = client.get("/recycling/intake").get_data(as_text=True)
    offered = _options(page)
    assert offered[0] == "" and '<option value="" selected>请选择品类</option>' in page
    assert "vehicle.passenger" not in offered and "appliance.refrigerator" in offered
    assert offered[1:] == [c for c, (d, _l) in CATEGORIES.items() if d is not Domain.VEHICLES]
    assert "（appliance." not in page  # labels, not codes


def test_a_vehicle_site_is_offered_vehicles_only(client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    _site(uow, demo, SiteKind.VEHICLES, "V-1")
    login(client, "recycler.dismantler")
    offered = _options(client.get("/recycling/intake").get_data(as_text=True))
    assert offered[1:] == [c for c, (d, _l) in CATEGORIES.items() if d is Domain.VEHICLES]


def test_the_server_refuses_a_category_the_sites_kind_does_not_take(client: FlaskClient, demo: dict[str, int],
                                                                    uow: UnitOfWork) -> None:
    site_id = _site(uow, demo, SiteKind.RENEWABLE, "R-2")
    answer = client.post("/api/v1/recycling/intakes", headers=bearer(client, "recycler.renewable"), json={
        "site_id": site_id, "source": "resident", "category": "vehicle.passenger", "units": 1,
        "weight_kg": "1200", "occurred_on": YESTERDAY})
    body = answer.get_json()
    assert answer.status_code == 422 and body["reason"] == "intake.category_not_for_site"
    assert list(body["errors"]) == ["category"]
    assert "再生资源回收网点不收小型、微型载客汽车" in body["errors"]["category"][0]
    csrf = login(client, "recycler.renewable")
    form = client.post("/recycling/intake", data={
        "csrf_token": csrf, "site_id": site_id, "source": "resident", "category": "vehicle.passenger", "units": "1",
        "weight_kg": "1200", "occurred_on": YESTERDAY})
    assert form.status_code == 422 and "再生资源回收网点不收" in form.get_data(as_text=True)
    none_chosen = client.post("/recycling/intake", data={
        "csrf_token": csrf, "site_id": site_id, "source": "resident", "category": "", "units": "1",
        "weight_kg": "50", "occurred_on": YESTERDAY})
    assert none_chosen.status_code == 422 and "请选择品类" in none_chosen.get_data(as_text=True)


def test_a_nonsensical_weight_per_unit_is_recorded_with_a_warning(client: FlaskClient, demo: dict[str, int],
                                                                   uow: UnitOfWork) -> None:
    site_id = _site(uow, demo, SiteKind.RENEWABLE, "R-3")
    csrf = login(client, "recycler.renewable")
    odd = {"csrf_token": csrf, "site_id": site_id, "source": "resident", "category": "appliance.refrigerator",
           "units": "55", "weight_kg": "5", "occurred_on": YESTERDAY}  # units and kilograms swapped
    posted = client.post("/recycling/intake", data=odd)
    assert posted.status_code == 302  # warned, not refused
    shown = client.get(posted.headers["Location"]).get_data(as_text=True)
    warned = r'<p class="flash warn">回收记录 #\d+ 数量、重量:平均每件 0.091 千克,冰箱通常每件 15–250 千克'
    assert re.search(warned, shown)
    plausible = client.post("/recycling/intake", data={**odd, "units": "1", "weight_kg": "55", "form_key": "k2"})
    assert plausible.status_code == 302
    assert '<p class="flash warn">' not in client.get(plausible.headers["Location"]).get_data(as_text=True)


def test_the_plausible_ranges_cover_every_counted_category_and_only_warn_outside() -> None:
    counted = [c for c, (d, _l) in CATEGORIES.items() if d is not Domain.MATERIALS]
    assert sorted(UNIT_WEIGHT_KG) == sorted(counted) and all(low < high for low, high in UNIT_WEIGHT_KG.values())
    assert unit_weight_warning("appliance.refrigerator", 2, Decimal("110")) is None
    assert unit_weight_warning("vehicle.passenger", 1, Decimal("12")) is not None  # tonnes typed as kg/100
    assert unit_weight_warning("material.steel", 1, Decimal("25000")) is None  # bulk: units mean nothing
    assert unit_weight_warning("appliance.phone", 0, Decimal("3")) is None
    assert set(categories_for(SiteKind.GENERAL)) == set(CATEGORIES)

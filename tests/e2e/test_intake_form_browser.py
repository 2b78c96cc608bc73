"""The intake form on a clerk's phone: the chosen site's categories only, none chosen, a warning on odd weights."""

from __future__ import annotations

from flask import Flask

from recycling import sites
from recycling.domain import CATEGORIES, Domain, SiteLevel
from recycling.site_kinds import SiteKind
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.seed import DEMO_PASSWORD
from tests.e2e.conftest import phone_page


def test_the_clerk_sees_the_sites_categories_and_is_warned_of_an_odd_weight(live: tuple[str, Flask], committed,
                                                                            cipher) -> None:
    from subsidy_app.seed import seed_demo

    base, _app = live
    with UnitOfWork(committed, None, cipher) as uow:
        org = seed_demo(uow)["org:recycler:dismantler"]
        yard = sites.register_site(uow, actor="t", organisation_id=org, code="V-1", name="离石拆解厂",
                                   level=SiteLevel.SORTING, county_code="141102", kind=SiteKind.VEHICLES)
        point = sites.register_site(uow, actor="t", organisation_id=org, code="R-1", name="滨河再生资源交投点",
                                    level=SiteLevel.DROP_OFF, county_code="141102", kind=SiteKind.RENEWABLE)
        uow.commit()
    vehicles = [c for c, (d, _l) in CATEGORIES.items() if d is Domain.VEHICLES]
    with phone_page() as page:
        page.goto(f"{base}/recycling/intake")
        page.fill("#username", "recycler.dismantler")
        page.fill("#password", DEMO_PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{base}/recycling/intake")
        offered = lambda: page.eval_on_selector_all("#category option", "os => os.map(o => o.value)")  # noqa: E731
        assert page.input_value("#site_id") == str(yard) and offered() == ["", *vehicles]
        assert page.input_value("#category") == ""  # nothing chosen for the clerk
        page.select_option("#site_id", str(point))
        assert "vehicle.passenger" not in offered() and "appliance.refrigerator" in offered()
        page.select_option("#category", "appliance.refrigerator")
        page.fill("#units", "55")
        page.fill("#weight_kg", "5")  # units and kilograms swapped
        assert page.is_visible("#unit-weight-hint")
        assert "平均每件 0.091 千克,冰箱通常每件 15–250 千克" in page.inner_text("#unit-weight-hint")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone
        page.screenshot(path="/tmp/resident-intake-hint.png", full_page=True)
        page.fill("#weight_kg", "3300")  # 60 kg a fridge
        assert not page.is_visible("#unit-weight-hint")
        page.fill("#weight_kg", "5")
        page.click("form button[type=submit]:has-text('登记')")
        page.wait_for_selector(".flash.warn:not(#unit-weight-hint)")
        assert "已登记回收记录" in page.inner_text(".flash.ok")
        assert "冰箱通常每件 15–250 千克" in page.inner_text(".flash.warn:not(#unit-weight-hint)")
        page.screenshot(path="/tmp/resident-intake-saved.png", full_page=True)

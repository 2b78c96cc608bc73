"""The bureau leader opens the dashboard in Chromium at desk width: every panel with data draws its chart."""

from __future__ import annotations

import os

from flask import Flask

from subsidy_app.core.uow import UnitOfWork
from tests.car_fixtures import bank_card, car_world, resident_id, submit
from tests.e2e.conftest import desk_page
from tests.helpers import DEMO_PASSWORD

SHOTS = os.environ.get("SCREENSHOT_DIR", "/tmp")


def test_the_leader_sees_charts_drawn_from_the_tables(live: tuple[str, Flask], committed, cipher) -> None:
    from recycling import targets
    from subsidy_app.seed import seed_demo

    base, _app = live
    with UnitOfWork(committed, None, cipher) as uow:
        demo = seed_demo(uow)
        targets.load_shipped(uow, actor="test")
        for n in range(3):
            world = car_world(uow, demo, serial=80 + n, owner_id=resident_id(f"14110219860101{n:03d}"))
            submit(uow, world, card=bank_card(880 + n))
        uow.commit()

    with desk_page() as page:
        page.goto(f"{base}/staff/dashboard")
        page.fill("#username", "leader.city")
        page.fill("#password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#panel-trend")
        assert page.url.endswith("/staff/dashboard")  # back where the leader wanted to go
        for key in ("trend", "counties", "programmes", "pools"):
            page.wait_for_selector(f"#chart-{key}[data-drawn] svg")
        assert page.inner_text("#table-trend tbody tr td:nth-child(2)") == "3"
        assert page.locator("#chart-trend svg text", has_text="提交(件)").count() >= 1  # the legend names the series
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5).map(e => `${e.tagName}#${e.id}.${e.className} ${e.getBoundingClientRect().right}`)""")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), wide
        page.screenshot(path=f"{SHOTS}/dashboard-desk.png", full_page=True)
        page.set_viewport_size({"width": 800, "height": 900})  # a tablet: still no sideways scrolling
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=f"{SHOTS}/dashboard-tablet.png")

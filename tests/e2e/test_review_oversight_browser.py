"""The bureau in Chromium: the overdue-review page leads to the filtered work queue, and the dashboard draws the
weekly review-time median and p90 beside its table, at desk and tablet width."""

from __future__ import annotations

import datetime as dt
import os

from flask import Flask
from sqlalchemy import update

from subsidy_app.applications.models import Application
from subsidy_app.core.clock import business_date, day_start
from subsidy_app.core.uow import UnitOfWork
from tests.car_fixtures import bank_card, car_world, resident_id, submit
from tests.e2e.conftest import desk_page
from tests.helpers import DEMO_PASSWORD

SHOTS = os.environ.get("SCREENSHOT_DIR", "/tmp")
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


def test_the_bureau_follows_overdue_reviews_to_the_queue_and_sees_review_times_drawn(
        live: tuple[str, Flask], committed, cipher) -> None:
    from subsidy_app.seed import seed_demo

    base, _app = live
    now = dt.datetime.now(dt.UTC)
    with UnitOfWork(committed, None, cipher) as uow:
        demo = seed_demo(uow)
        ids = []
        for n in range(7):
            world = car_world(uow, demo, serial=60 + n, owner_id=resident_id(f"14110219860202{n:03d}"))
            ids.append(submit(uow, world, card=bank_card(660 + n)).application_id)
        lishi = demo["auditor.lishi"]
        for i, app_id in enumerate(ids[:3]):  # three overdue: two taken by 离石's auditor, one unassigned
            uow.session.execute(update(Application).where(Application.id == app_id).values(
                state="pending_review", submitted_at=now - dt.timedelta(days=20 + 5 * i),
                assigned_to=lishi if i < 2 else None))
        # Four decided over three weeks: 2 and 10 hours in the first (median 6, p90 9.2), then 12, then 30.
        for app_id, (weeks_ago, hours) in zip(ids[3:], ((3, 2), (3, 10), (2, 12), (1, 30)), strict=True):
            day = business_date(now - dt.timedelta(weeks=weeks_ago))  # Monday 08:00 Beijing of that week
            started = day_start(day - dt.timedelta(days=day.weekday())) + dt.timedelta(hours=8)
            uow.session.execute(update(Application).where(Application.id == app_id).values(
                state="approved", review_started_at=started, first_decided_at=started + dt.timedelta(hours=hours)))
        uow.commit()

    with desk_page() as page:
        page.goto(f"{base}/login")
        page.fill("#username", "admin")
        page.fill("#password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.click("#link-review-deadlines")
        page.wait_for_selector("#overdue-reviewer")
        assert page.inner_text("#overdue-total strong") == "3"
        assert page.inner_text(f"#overdue-reviewer tr[data-key='{lishi}'] td:nth-child(2)") == "2"
        assert page.inner_text("#overdue-reviewer tr[data-key='none'] td:first-child") == "未分派"
        assert "监管" in page.inner_text("nav.breadcrumbs")
        assert page.evaluate(FITS)
        page.screenshot(path=f"{SHOTS}/review-deadlines-desk.png", full_page=True)
        page.click(f"#overdue-reviewer tr[data-key='{lishi}'] td:nth-child(2) a")
        page.wait_for_selector("#assignee-filter")
        assert page.locator("tr[data-id]").count() == 2 and page.locator("tr.overdue").count() == 2
        page.screenshot(path=f"{SHOTS}/review-deadlines-queue.png", full_page=True)

        since = (now - dt.timedelta(weeks=5)).date().isoformat()
        page.goto(f"{base}/staff/dashboard?date_from={since}")
        page.wait_for_selector("#chart-review_times[data-drawn] svg")
        assert page.locator("#table-review_times tbody tr").count() == 3
        first = page.locator("#table-review_times tbody tr").first.inner_text().split("\t")
        assert first[1:] == ["2", "6.0", "9.2"], first
        assert page.locator("#chart-review_times svg text", has_text="90分位(小时)").count() >= 1
        assert page.locator("#chart-review_times svg text", has_text="小时").count() >= 2  # the axis names its unit
        assert page.evaluate(FITS)
        page.locator("#panel-review_times").screenshot(path=f"{SHOTS}/review-times-panel-desk.png")
        page.set_viewport_size({"width": 800, "height": 900})
        assert page.evaluate(FITS)
        page.locator("#panel-review_times").screenshot(path=f"{SHOTS}/review-times-panel-tablet.png")
        page.goto(f"{base}/oversight/review-deadlines")
        assert page.evaluate(FITS)
        page.screenshot(path=f"{SHOTS}/review-deadlines-tablet.png", full_page=True)

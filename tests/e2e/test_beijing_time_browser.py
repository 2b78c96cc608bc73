"""A reviewer's queue and an application's timeline show Beijing wall-clock time, in Chromium at both widths."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask
from sqlalchemy import update

from subsidy_app.applications.models import Application, ApplicationEvent
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.seed import DEMO_PASSWORD
from tests.car_fixtures import car_world, submit
from tests.e2e.conftest import phone_page

SUBMITTED = dt.datetime(2026, 12, 2, 21, 36, tzinfo=dt.UTC)  # 05:36 on 2026-12-03 in Beijing
CHECKED = dt.datetime(2026, 12, 2, 21, 38, tzinfo=dt.UTC)  # 05:38 on 2026-12-03 in Beijing


def test_the_review_queue_and_timeline_show_beijing_time(live: tuple[str, Flask], committed_uow: UnitOfWork
                                                         ) -> None:
    from subsidy_app.seed import seed_demo

    base, _app = live
    uow = committed_uow  # its jobs run in-process: the checks are done when submit returns
    done = submit(uow, car_world(uow, seed_demo(uow)))
    uow.session.execute(update(Application).where(Application.id == done.application_id)
                        .values(submitted_at=SUBMITTED))
    uow.session.execute(update(ApplicationEvent).where(ApplicationEvent.application_id == done.application_id)
                        .values(at=CHECKED))
    uow.commit()
    with phone_page() as page:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{base}/login")
        page.fill("#username", "auditor.lishi")
        page.fill("#password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/review")
        row = page.inner_text(f'#queue tr[data-id="{done.application_id}"]')
        page.screenshot(path="/tmp/time-review-queue-desk.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path="/tmp/time-review-queue-phone.png", full_page=True)
        page.goto(f"{base}/review/{done.application_id}")
        history = page.inner_text("#history")
        page.screenshot(path="/tmp/time-review-detail-phone.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path="/tmp/time-review-detail-desk.png", full_page=True)
        submitted = page.inner_text("xpath=//th[text()='提交时间']/following-sibling::td")
    assert "2026-12-03 05:36" in row and "21:36" not in row
    assert submitted == "2026-12-03 05:36"
    assert re.search(r"^2026-12-03 05:38 ", history, re.M) and "21:38" not in history

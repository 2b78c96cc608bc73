"""A county auditor's day in Chromium: search the queue, open an application, take it, batch-approve the rest."""

from __future__ import annotations

from flask import Flask

from subsidy_app.core.uow import UnitOfWork
from subsidy_app.documents.services import store_document
from subsidy_app.seed import DEMO_PASSWORD
from tests.car_fixtures import bank_card, car_world, resident_id, submit
from tests.doc_files import PDF_BYTES, png_bytes
from tests.e2e.conftest import desk_page


def test_an_auditor_works_the_queue_through_the_pages(live: tuple[str, Flask], committed_uow: UnitOfWork) -> None:
    from subsidy_app.seed import seed_demo

    base, _app = live
    uow = committed_uow  # its jobs run in-process: the checks are done when submit returns
    demo = seed_demo(uow)
    done = [submit(uow, car_world(uow, demo, serial=i, owner_id=resident_id(f"14110219800102{i:03d}")),
                   card=bank_card(700 + i)) for i in (1, 2, 3)]
    first = done[0]
    for kind, name, data in (("vehicle_invoice", "invoice.png", png_bytes("blue")),
                             ("scrap_certificate", "certificate.pdf", PDF_BYTES)):
        store_document(uow, actor="t", kind=kind, filename=name, data=data, owner_ref=f"application:{first.number}")
    uow.commit()
    with desk_page() as page:
        page.goto(f"{base}/login")
        page.fill("#username", "auditor.lishi")
        page.fill("#password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.click("#link-review")
        assert page.inner_text('#state-counts a[data-state="pending_review"] strong') == "3"
        page.screenshot(path="/tmp/queues-queue-desk.png", full_page=True)
        page.fill("#q", first.number)
        page.click("#queue-filter button[type=submit]")
        assert page.locator("#queue tbody tr").count() == 1
        page.click(f"text={first.number}")
        assert page.locator("#documents img").count() == 1
        page.locator("#documents").scroll_into_view_if_needed()  # previews load lazily, when they come into view
        page.wait_for_function("document.querySelector('#documents img').naturalWidth > 0", timeout=10_000)
        page.screenshot(path="/tmp/queues-documents-desk.png", full_page=True)
        assert page.locator("#certificate-link").count() == 1 and page.locator("#registry").count() == 1
        page.click("#take")
        assert "已分派" in page.inner_text("body") and page.inner_text("#assignee") == "离石区审核员"
        page.screenshot(path="/tmp/queues-detail-desk.png", full_page=True)
        page.set_viewport_size({"width": 800, "height": 900})
        page.screenshot(path="/tmp/queues-detail-tablet.png", full_page=True)
        page.goto(f"{base}/review?assigned=me")
        assert page.locator("#queue tbody tr").count() == 1
        page.goto(f"{base}/review")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways page
        page.screenshot(path="/tmp/queues-queue-tablet.png", full_page=True)
        for row in done[1:]:
            page.check(f'input[name="application_ids"][value="{row.application_id}"]')
        page.click("#batch-approve")
        assert page.locator('#batch-lines tr[data-result="approved"]').count() == 2
        assert "2 件审核通过" in page.inner_text("#batch-summary")
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path="/tmp/queues-batch-phone.png", full_page=True)
        page.click("#back-to-queue")
        assert page.inner_text('#state-counts a[data-state="approved"] strong') == "2"
        page.screenshot(path="/tmp/queues-queue-phone.png", full_page=True)

"""The recycler clerk's day through the portal's pages: an intake by form, a file with a bad row, a transfer, stock."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask

from recycling import imports, issuing
from subsidy_app.core.clock import business_date
from subsidy_app.core.jobs import InProcessDispatcher, run_outbox_message
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.seed import DEMO_PASSWORD
from tests.e2e.conftest import PHONE_VIEWPORT, desk_page
from tests.recycling_support import ACTOR, CertificateDraftFactory, Network, build_network

YESTERDAY = (business_date() - dt.timedelta(days=1)).isoformat()
TABLET = {"width": 800, "height": 1000}


def _network(committed, cipher) -> Network:
    from subsidy_app.seed import seed_demo

    with UnitOfWork(committed, None, cipher) as uow:
        network = build_network(uow, seed_demo(uow))
        issuing.issue_certificate(uow, actor=ACTOR, dismantler_org_id=network.org_id,
                                  draft=CertificateDraftFactory(site_id=network.sorting, number="JL-E2E-0001"))
        uow.commit()
    return network


def _stock_cell(page, site: str, column: int) -> str:
    row = f"#stock tr[data-site='{site}'][data-category='appliance.refrigerator']"
    return page.inner_text(f"{row} td:nth-child({column})")


def _fits(page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_the_clerk_records_intakes_by_form_and_file_moves_them_and_sees_the_stock(
        live: tuple[str, Flask], committed, cipher) -> None:
    base, _app = live
    network = _network(committed, cipher)
    with desk_page() as page:
        page.goto(f"{base}/recycling/intake")
        page.fill("#username", "recycler.dismantler")
        page.fill("#password", DEMO_PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{base}/recycling/intake")
        # 1. an intake through the form: two fridges at the drop-off point
        page.select_option("#site_id", str(network.drop_off))
        page.select_option("#category", "appliance.refrigerator")
        page.fill("#units", "2")
        page.fill("#weight_kg", "110")
        page.click("form button[type=submit]:has-text('登记')")
        assert "已登记回收记录" in page.inner_text(".flash.ok")
        page.click("#nav-stock")
        assert _stock_cell(page, "T-drop_off", 4) == "2" and _stock_cell(page, "T-drop_off", 5) == "110"
        # 2. a file of three rows, the second one bad: the job runs to 100% and the bad row is listed by its line
        page.click("#nav-intake-import")
        rows = (f"网点编码,来源,品类,数量,重量kg,日期\nT-drop_off,resident,appliance.refrigerator,3,165,{YESTERDAY}\n"
                f"T-drop_off,resident,appliance.refrigerator,3,165,2099-01-01\n"
                f"T-transfer,resident,office.printer,1,8,{YESTERDAY}\n")
        page.set_input_files("#file", files=[{"name": "今日回收.csv", "mimeType": "text/csv",
                                             "buffer": rows.encode()}])
        page.select_option("#mode", "valid_only")
        page.screenshot(path="/tmp/recycler-import-form.png", full_page=True)
        page.click("#import-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/recycling/imports/\d+\?job=\d+$"))
        imported = page.url.split("/recycling/imports/")[1].split("?")[0]
        page.wait_for_function("document.getElementById('import-progress').value === 100")
        assert page.inner_text("#progress-text").startswith("100%")
        assert "已写入 2 行，有误 1 行" in page.inner_text("#import-counts")
        bad = page.inner_text("#row-errors tr[data-line='3']")
        assert "第 3 行" in bad and "日期" in bad and "日期不能晚于今天" in bad
        page.screenshot(path="/tmp/recycler-import-result.png", full_page=True)
        # 3. the intake list shows the form's record, the file's two and the certified vehicle
        page.click("#nav-intakes")
        assert "共 4 条" in page.inner_text("#pager")  # with the vehicle the certificate recorded
        page.screenshot(path="/tmp/recycler-intakes.png", full_page=True)
        page.click("#nav-stock")
        assert _stock_cell(page, "T-drop_off", 4) == "5" and _stock_cell(page, "T-drop_off", 5) == "275"
        # 4. a transfer up the network, then the stock of both sites has changed
        page.click("#nav-transfers")
        page.select_option("#from_site_id", str(network.drop_off))
        page.select_option("#to_site_id", str(network.sorting))
        page.select_option("#category", "appliance.refrigerator")
        page.fill("#units", "4")
        page.fill("#weight_kg", "220")
        page.click("#transfer-form button[type=submit]")
        assert "已登记调运" in page.inner_text(".flash.ok")
        assert "测试drop_off（T-drop_off）" in page.inner_text("#transfers")
        page.screenshot(path="/tmp/recycler-transfers.png", full_page=True)
        page.click("#nav-stock")
        assert _stock_cell(page, "T-drop_off", 4) == "1" and _stock_cell(page, "T-drop_off", 5) == "55"
        assert _stock_cell(page, "T-sorting", 4) == "4" and _stock_cell(page, "T-sorting", 5) == "220"
        page.screenshot(path="/tmp/recycler-stock.png", full_page=True)
        page.click("#nav-certificates")
        page.fill("#q", "JL-E2E")
        page.click("#certificate-filters button[type=submit]")
        page.click("#certificates a:has-text('JL-E2E-0001')")  # the list opens the certificate's own page
        assert "报废机动车回收证明" in page.inner_text("h1") and page.is_visible("img[alt='核验二维码']")
        page.go_back()
        page.screenshot(path="/tmp/recycler-certificates.png", full_page=True)
        for size, name in ((TABLET, "tablet"), (PHONE_VIEWPORT, "phone")):
            page.set_viewport_size(size)
            for path in ("/recycling/stock", "/recycling/intakes", "/recycling/transfers", "/recycling/sites",
                         "/recycling/certificates", f"/recycling/imports/{imported}"):
                page.goto(f"{base}{path}")
                assert _fits(page), (name, path)  # wide tables scroll inside their box, never the page
            page.screenshot(path=f"/tmp/recycler-import-{name}.png", full_page=True)
        page.goto(f"{base}/recycling/intakes")
        page.screenshot(path="/tmp/recycler-intakes-phone.png", full_page=True)


class _Held:
    """A dispatcher that keeps jobs queued, as a busy worker would, until the test runs them."""

    runs_inline = False

    def dispatch(self, message_ids: list[int]) -> None:
        """Leave the messages in the outbox."""


def test_the_import_page_polls_the_running_job_and_then_shows_the_bad_row(
        live: tuple[str, Flask], committed, cipher) -> None:
    base, _app = live
    network = _network(committed, cipher)
    with UnitOfWork(committed, _Held(), cipher) as uow:  # type: ignore[arg-type]
        from subsidy_app.identity.models import Account

        account = uow.session.query(Account).filter_by(username="recycler.dismantler").one()
        content = (f"site_code,source,category,units,weight_kg,occurred_on\n"
                   f"T-drop_off,resident,office.printer,1,8,{YESTERDAY}\nNOPE,resident,office.printer,1,8,"
                   f"{YESTERDAY}\n").encode()
        report = imports.import_intake_file(uow, actor=f"account:{account.id}:recycler.dismantler",
                                            organisation_id=network.org_id, filename="queued.csv", content=content,
                                            mode="valid_only", queue=True)
        uow.commit()
    assert report.status == "queued" and report.job_id is not None
    with desk_page() as page:
        page.goto(f"{base}/recycling/imports/{report.import_id}?job={report.job_id}")
        page.fill("#username", "recycler.dismantler")
        page.fill("#password", DEMO_PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(re.compile(r".*/recycling/imports/\d+\?job=\d+$"))
        page.wait_for_function("document.getElementById('progress-text').textContent.indexOf('0%') === 0")
        assert page.inner_text("#import-status") == "导入中" and page.eval_on_selector("#import-progress",
                                                                                     "e => e.value") == 0
        page.screenshot(path="/tmp/recycler-import-waiting.png", full_page=True)
        assert run_outbox_message(committed, InProcessDispatcher(committed, cipher), report.job_id,
                                  cipher).status == "done"
        page.wait_for_selector("#row-errors tr[data-line='3']")  # the page reloaded by itself once the job ended
        assert page.inner_text("#import-status") == "已导入" and page.inner_text("#progress-text") == "100%"
        assert "本企业无此网点编码" in page.inner_text("#row-errors")

"""A recycler clerk's reverse-invoicing day through the pages only: seller with consent to the filed month."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Flask
from openpyxl import load_workbook

from reverse_invoice.demo import make_bank_card, make_resident_id
from reverse_invoice.domain import add_months
from subsidy_app.core.clock import business_date, instant_on
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.seed import DEMO_PASSWORD
from tests.doc_files import png_bytes
from tests.e2e.conftest import desk_page
from tests.helpers import freeze_clock
from tests.integration.ri_support import qualify


def test_a_clerk_registers_buys_issues_reverses_files_and_downloads(live: tuple[str, Flask], committed, cipher,
                                                                     tmp_path, monkeypatch) -> None:
    from subsidy_app.seed import seed_demo

    base, _app = live
    with UnitOfWork(committed, None, cipher) as uow:
        qualify(uow, seed_demo(uow)["org:recycler:dismantler"])
        uow.commit()
    photo = tmp_path / "site.png"
    photo.write_bytes(png_bytes())
    with desk_page() as page:
        page.goto(f"{base}/reverse-invoice/sellers/new")
        page.fill("#username", "recycler.dismantler")
        page.fill("#password", DEMO_PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{base}/reverse-invoice/sellers/new")
        page.fill("#name", "赵六")
        page.fill("#id_number", make_resident_id(61))
        page.fill("#phone", "13800000061")
        page.fill("#bank_card", make_bank_card(61))
        assert "代为办理" in page.inner_text("#consent-text")
        page.check("#agreed")
        page.screenshot(path="/tmp/invoice-1-seller.png", full_page=True)
        page.click("button:has-text('登记并记录授权')")
        page.wait_for_selector("#headroom")
        assert page.inner_text("#remaining") == "5000000.00"
        page.click("#new-purchase")
        page.fill("[id='lines.0.product_name']", "废钢")
        page.fill("[id='lines.0.quantity']", "2")
        page.fill("[id='lines.0.unit_price']", "3000")
        page.fill("#contract_no", "HT-61")
        page.fill("#weighbridge_ticket", "BD-61")
        page.fill("#vehicle_plate", "晋J12345")
        page.set_input_files("#photos", str(photo))
        page.set_input_files("#weighbridge_slip", str(photo))
        page.fill("#payment_reference", "PAY-61")
        page.fill("#paid_amount", "6000.00")
        page.fill("#paid_at", f"{business_date().isoformat()}T09:30")
        page.click("button:has-text('登记收购')")
        page.wait_for_selector("#preview")
        assert page.inner_text("#window-sales") == "0.00"
        assert page.inner_text("#remaining-after") == "4994000.00"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path="/tmp/invoice-2-preview.png", full_page=True)
        page.click("#issue")
        page.wait_for_selector("#reversal")
        assert "已开具发票" in page.inner_text(".flash.ok")
        with page.expect_download() as pdf:
            page.click("a:has-text('下载 PDF')")
        assert Path(pdf.value.path()).read_bytes()[:5] == b"%PDF-"
        page.select_option("#reason", "01")
        page.screenshot(path="/tmp/invoice-3-invoice.png", full_page=True)
        page.click("#reverse")
        page.wait_for_selector(".flash.ok")
        assert "已开具红字发票" in page.inner_text(".flash.ok") and "红字" in page.inner_text("article h1")
        page.click("#nav-ri-filings")
        page.fill("#month", business_date().strftime("%Y-%m"))
        page.click("#prepare")
        page.wait_for_selector("#filing-state")
        assert page.inner_text("#filing-state") == "待申报" and "赵*" in page.inner_text("main")  # masked for clerks
        assert "尚未结束" in page.inner_text("#month-open") and page.query_selector("#mark-filed") is None
        freeze_clock(monkeypatch, instant_on(add_months(business_date().replace(day=1), 1)))  # the month is over
        page.reload()
        page.click("#mark-filed")
        page.wait_for_selector(".flash.ok")
        assert page.inner_text("#filing-state") == "已申报待缴款"
        page.screenshot(path="/tmp/invoice-4-filing.png", full_page=True)
        with page.expect_download() as xlsx:
            page.click("#xlsx")
        book = load_workbook(io.BytesIO(Path(xlsx.value.path()).read_bytes()))
        summary = {row[0]: row[1] for row in book["代办税费申报表"].iter_rows(min_row=2, values_only=True)}
        assert summary["发票份数"] == 2 and summary["状态"] == "filed"
        page.set_viewport_size({"width": 800, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path="/tmp/invoice-5-filing-tablet.png", full_page=True)
        page.click("#nav-ri-sellers")
        page.fill("#id_number", make_resident_id(61))
        page.click("button:has-text('查找')")
        page.click("#statement")
        page.wait_for_selector("#total-sales")
        assert page.inner_text("#total-sales") == "0.00"  # the blue invoice and its red letter
        page.screenshot(path="/tmp/invoice-9-statement.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.click("#nav-ri-purchases")
        page.wait_for_selector("main table")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path="/tmp/invoice-6-purchases-phone.png", full_page=True)


def test_an_admin_prepares_every_recyclers_filing_and_watches_the_job(live: tuple[str, Flask], committed,
                                                                      cipher) -> None:
    from subsidy_app.seed import seed_demo

    base, _app = live
    with UnitOfWork(committed, None, cipher) as uow:
        qualify(uow, seed_demo(uow)["org:recycler:dismantler"])
        uow.commit()
    with desk_page() as page:
        page.goto(f"{base}/reverse-invoice/filings")
        page.fill("#username", "admin")
        page.fill("#password", DEMO_PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{base}/reverse-invoice/filings")
        page.fill("#month", business_date().strftime("%Y-%m"))
        page.click("#prepare-all")
        page.wait_for_selector("#job-progress")
        page.screenshot(path="/tmp/invoice-7-job.png", full_page=True)
        page.wait_for_url(f"{base}/reverse-invoice/filings", timeout=30_000)  # reloaded once the job is done
        assert "吕梁市报废机动车回收拆解有限公司" in page.inner_text("main table")
        page.screenshot(path="/tmp/invoice-8-filings.png", full_page=True)

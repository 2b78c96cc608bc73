"""What `lvliang demo` prints is enough: a newcomer follows it in Chromium from the dealer's sale to an approval."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from PIL import Image

from tests.e2e.conftest import CHROMIUM, PHONE_VIEWPORT, decode_qr

DESK_VIEWPORT = {"width": 1280, "height": 900}


def _one(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"the demo's output has no {pattern!r}:\n{text}"
    return match.group(1)


@dataclass(frozen=True)
class Printed:
    """The demo's printed walk-through, read back the way a newcomer reads it."""

    base: str
    password: str
    dealer: str
    admin: str
    reviewer: str
    finance: str
    leader: str
    name: str
    id_number: str
    phone: str
    certificate: str
    new_vin: str
    catalogue: str
    invoice_number: str
    invoice_date: str
    invoice_total: str
    card: str
    bank: str
    final_state: str
    till: str
    till_body: dict[str, Any]
    buyer_name: str
    buyer_id: str
    buyer_phone: str
    buyer_card: str


def parse(out: str) -> Printed:
    """Pick every value the walk-through needs out of the printed text (and nothing from anywhere else)."""
    car = out[out.index("一、汽车报废更新"):out.index("二、家电以旧换新")]
    appliance = out[out.index("二、家电以旧换新"):]
    resident = re.search(r"居民:(\S+)  身份证号:(\w+)  手机号:(\d+)", car)
    buyer = re.search(r"购买人:(\S+)  身份证号:(\w+)  手机号:(\d+)  银行卡号:(\d+)", appliance)
    assert resident and buyer, out
    return Printed(
        base=_one(r"用浏览器打开 open (http://\S+?)/$", out),
        password=_one(r"for all: ([^)\s]+)\)", out),
        dealer=_one(r"账号 (\S+?),密码", car),
        admin=_one(r"用 (\S+) 登录,工作台点“短信发件箱”", car),
        reviewer=_one(r"审核员登录\(账号 (\S+?)\)", car),
        finance=_one(r"^\s+(\S+)\s+\S+\(财务人员\)$", out),
        leader=_one(r"^\s+(\S+)\s+\S+\(局领导\)$", out),
        name=resident.group(1), id_number=resident.group(2), phone=resident.group(3),
        certificate=_one(r"回收证明编号:(\S+?)\(", car),
        new_vin=_one(r"新车车架号 (\w+);", car),
        catalogue=_one(r"车型目录批次 (\S+)$", car),
        invoice_number=_one(r"发票号码 (\d+)\(", car),
        invoice_date=_one(r"开票日期 ([\d-]+);", car),
        invoice_total=_one(r"价税合计 ([\d.]+)$", car),
        card=_one(r"银行卡号 (\d+),", car),
        bank=_one(r"开户银行 (\S+?),", car),
        final_state=_one(r"可见“(.+?)”", car),
        till=_one(r"账号 (\S+) 登录后打开", appliance),
        till_body=json.loads(_one(r"^\s*(\{.*\})$", appliance)),
        buyer_name=buyer.group(1), buyer_id=buyer.group(2), buyer_phone=buyer.group(3), buyer_card=buyer.group(4),
    )


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), (30, 90, 200)).save(out, format="PNG")
    return out.getvalue()


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, Chinese locale."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            yield browser
        finally:
            browser.close()


def desk(browser: Any) -> Any:
    """A desk-sized page with a session of its own."""
    return browser.new_context(viewport=DESK_VIEWPORT, locale="zh-CN").new_page()


def phone(browser: Any) -> Any:
    """A phone-sized page with a session of its own."""
    return browser.new_context(viewport=PHONE_VIEWPORT, device_scale_factor=2, is_mobile=True, has_touch=True,
                               locale="zh-CN").new_page()


def log_in(page: Any, printed: Printed, username: str) -> None:
    """Log in on the printed login page with the printed password."""
    page.goto(printed.base + "/login")
    page.fill("#username", username)
    page.fill("#password", printed.password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/staff$"))


def code_from_outbox(admin: Any, phone_number: str) -> str:
    """The administrator opens the SMS outbox from the menu and reads the newest code sent to the phone."""
    admin.goto(admin.url.split("/staff")[0] + "/staff")
    admin.click("#link-sms")
    masked = phone_number[:3] + "****" + phone_number[-4:]
    row = admin.locator("tbody tr", has_text=masked).first
    code = re.search(r"\d{6}", row.inner_text())
    assert code, row.inner_text()
    return code.group(0)


def verify(page: Any, name: str, id_number: str, phone_number: str, admin: Any) -> None:
    """The resident's identity step: the code comes from the outbox the administrator's menu links."""
    page.fill("#name", name)
    page.fill("#id_number", id_number)
    page.fill("#phone", phone_number)
    page.click("#send-code")
    assert "验证码已发送" in page.content()
    code = code_from_outbox(admin, phone_number)
    page.fill("#name", name)
    page.fill("#id_number", id_number)
    page.fill("#code", code)
    page.click("#verify")


def till_sale_in_the_api_docs(page: Any, printed: Printed) -> dict[str, Any]:
    """The till clerk posts the printed body with the API docs' "Try it out", logged in by the session."""
    page.goto(printed.base + "/api/docs")
    operation = page.locator(".opblock-post", has=page.locator("[data-path='/api/v1/appliance-sales']"))
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator("textarea.body-param__text").fill(json.dumps(printed.till_body))
    operation.locator(".execute").click()
    answer = operation.locator(".live-responses-table .response-col_description pre").first
    answer.wait_for()
    page.screenshot(path="/tmp/demo-8-till-in-api-docs.png", full_page=False)
    status = operation.locator(".live-responses-table tbody .response-col_status").first.inner_text().strip()
    assert status == "200", answer.inner_text()
    return dict(json.loads(answer.inner_text()))


def fits(page: Any) -> bool:
    """Nothing runs off the side of the screen."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def run_demo(app: Flask, port: int) -> str:
    """Run the README's `lvliang demo` (without serving) on the live app and return what it printed."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--port", str(port)])
    assert result.exit_code == 0, result.output
    return str(result.output)


def test_the_printed_trade_in_goes_through_in_a_browser(live: tuple[str, Flask]) -> None:
    base, app = live
    printed = parse(run_demo(app, int(base.rsplit(":", 1)[1])))
    assert printed.base == base
    with chromium() as browser:
        dealer, admin, resident, reviewer = desk(browser), desk(browser), phone(browser), desk(browser)
        log_in(dealer, printed, printed.dealer)
        dealer.click("#link-new-sale")
        dealer.fill("#new_vin", printed.new_vin)
        dealer.check("input[name=new_vehicle_type][value=nev]")
        dealer.fill("#nev_catalogue_ref", printed.catalogue)
        dealer.fill("#invoice_number", printed.invoice_number)
        dealer.fill("#invoice_date", printed.invoice_date)
        dealer.fill("#invoice_total", printed.invoice_total)
        dealer.fill("#buyer_name", printed.name)
        dealer.fill("#buyer_id_number", printed.id_number)
        dealer.click("#register-sale")
        dealer.wait_for_selector("#sale-qr")
        dealer.screenshot(path="/tmp/demo-1-sale.png", full_page=True)
        apply_url = decode_qr(dealer.request.get(base + (dealer.get_attribute("#sale-qr", "src") or "")).body())
        link = dealer.get_attribute("#apply-url", "href") or ""
        # Both sign the same sale; the signature's timestamp may differ by a second.
        assert apply_url.startswith(f"{base}/m/car/") and link.startswith(f"{base}/m/car/")
        assert apply_url.rsplit("/", 1)[1].split(".")[0] == link.rsplit("/", 1)[1].split(".")[0]

        log_in(admin, printed, printed.admin)
        admin.screenshot(path="/tmp/demo-2-admin-menu.png", full_page=True)
        resident.goto(apply_url)
        verify(resident, printed.name, printed.id_number, printed.phone, admin)
        admin.screenshot(path="/tmp/demo-3-sms-outbox.png", full_page=True)
        resident.wait_for_selector("#apply-form")
        resident.check("input[value=car_scrap]")
        resident.fill("#certificate_number", printed.certificate)
        for upload in resident.locator("#apply-form input[type=file]").all():
            upload.set_input_files(files=[{"name": "photo.png", "mimeType": "image/png", "buffer": _png()}])
        resident.fill("#bank_card_number", printed.card)
        resident.fill("#bank_name", printed.bank)
        resident.check("#consent")
        assert fits(resident)
        resident.screenshot(path="/tmp/demo-4-apply.png", full_page=True)
        resident.click("#submit")
        resident.wait_for_selector("#application-number")
        number = resident.inner_text("#application-number")
        status_url = decode_qr(resident.request.get(base + (resident.get_attribute("#status-qr", "src") or "")).body())
        resident.screenshot(path="/tmp/demo-5-receipt.png", full_page=True)

        log_in(reviewer, printed, printed.reviewer)
        reviewer.click("#link-review")
        reviewer.click(f"#queue a:has-text('{number}')")
        failed = reviewer.locator("#checks tr.failed, #checks .error-text").count()
        reviewer.screenshot(path="/tmp/demo-6-review.png", full_page=True)
        assert failed == 0, reviewer.inner_text("#checks")  # every check passes: the demo's data agree
        reviewer.click("#action-approve")
        reviewer.wait_for_selector(".flash.ok")

        resident.goto(status_url)
        assert resident.inner_text("#state") == printed.final_state
        assert fits(resident)
        resident.screenshot(path="/tmp/demo-7-status.png", full_page=True)

        # The printed finance officer pays it in a batch and imports the bank's answer; the leader sees it paid.
        finance = desk(browser)
        log_in(finance, printed, printed.finance)
        finance.click("#nav-batches")
        finance.check(f"#payable input[aria-label='选择 {number}']")
        total = finance.inner_text("#selected-total")
        finance.fill("#declared_count", finance.inner_text("#selected-count"))
        finance.fill("#declared_total", total)
        finance.click("#create-batch")
        finance.wait_for_selector("#batch-number")
        with finance.expect_download() as downloaded:
            finance.click("#download-csv")
        assert number in downloaded.value.path().read_text(encoding="utf-8-sig")
        answer = f"序号,申请编号,金额,结果,银行流水号,说明\n1,{number},{total},成功,B-DEMO-1,\n".encode()
        finance.set_input_files("#file", files=[{"name": "bank.csv", "mimeType": "text/csv", "buffer": answer}])
        finance.click("#upload-results")
        finance.wait_for_selector("#report-paid")
        assert f"合计 {total} 元" in finance.inner_text("#report-paid")
        resident.goto(status_url)
        assert resident.inner_text("#state") == "已发放"

        leader = desk(browser)
        log_in(leader, printed, printed.leader)
        leader.click("#nav-dashboard")
        leader.wait_for_selector("#chart-counties[data-drawn] svg")
        paid = [row.split("\t") for row in leader.locator("#table-counties tbody tr").all_inner_texts()]
        assert any(cells[0] != "合计" and cells[-1] == total for cells in paid), paid  # its county shows it paid
        leader.screenshot(path="/tmp/demo-10-dashboard.png", full_page=True)


def test_the_printed_appliance_buyer_claims_after_the_printed_till_sale(live: tuple[str, Flask]) -> None:
    base, app = live
    printed = parse(run_demo(app, int(base.rsplit(":", 1)[1])))
    with chromium() as browser:
        till, admin, buyer = desk(browser), desk(browser), phone(browser)
        log_in(till, printed, printed.till)
        sale = till_sale_in_the_api_docs(till, printed)
        assert sale["eligible"] is True and sale["amount"] == "689.85", sale
        log_in(admin, printed, printed.admin)
        buyer.goto(sale["receipt_url"])
        verify(buyer, printed.buyer_name, printed.buyer_id, printed.buyer_phone, admin)
        buyer.wait_for_selector("#claim-form")
        buyer.fill("#bank_card_number", printed.buyer_card)
        buyer.fill("#bank_name", "中国农业银行")
        buyer.check("#consent")
        buyer.click("#submit")
        buyer.wait_for_selector("#application-number")
        assert buyer.inner_text("#application-number").startswith("QA")
        buyer.screenshot(path="/tmp/demo-9-appliance-claim.png", full_page=True)
    again = parse(run_demo(app, int(base.rsplit(":", 1)[1]))).till_body  # run again: a sale the buyer may still claim
    assert again["serial_number"] != printed.till_body["serial_number"]
    assert again["invoice_number"] != printed.till_body["invoice_number"] and again["gtin"] != printed.till_body["gtin"]

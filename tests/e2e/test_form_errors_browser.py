"""A resident's refused forms on a phone-sized Chromium: each Chinese message right under its field, no English,
none twice (issue 14 item 10)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from subsidy_app.core.uow import UnitOfWork
from tests.car_fixtures import APPLICANT_ID, APPLICANT_NAME, APPLICANT_PHONE, car_world
from tests.e2e.conftest import decode_qr, phone_page
from tests.helpers import bearer


def _assert_each_beside_its_field(page: Any, fields: dict[str, str]) -> None:
    """Every field named shows its message just under its input, in Chinese, once; the top only links to them."""
    shown = page.eval_on_selector_all(".field-error", "els => els.map(e => e.id)")
    assert sorted(shown) == sorted(f"{name}-error" for name in fields)
    for name, control in fields.items():
        error = page.locator(f"#{name}-error")
        message = error.inner_text()
        assert message and not re.search(r"[A-Za-z]", message), message  # Chinese only, no "phone:" key
        assert page.inner_text("main").count(message) == 1, message  # not repeated at the top
        # Both measured in one frame, in page coordinates: the page may still be scrolling to the first error.
        gap = page.evaluate("""([message, control]) => {
            const m = document.querySelector(message).getBoundingClientRect();
            const f = document.querySelector(control).getBoundingClientRect();
            return m.top - f.bottom; }""", [f"#{name}-error", control])
        assert 0 <= gap < 40, (name, gap)  # right under its field
    summary = page.inner_text("#form-error")
    assert not re.search(r"[A-Za-z]", summary), summary
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits the phone


def test_a_resident_sees_each_bad_field_beside_it_in_chinese_on_a_phone(live: tuple[str, Flask], committed,
                                                                          cipher) -> None:
    from subsidy_app.messaging.services import list_outbox
    from subsidy_app.seed import seed_demo

    _base, app = live
    with UnitOfWork(committed, None, cipher) as uow:
        demo = seed_demo(uow)
        world = car_world(uow, demo)
    client = app.test_client()
    png = client.get(f"/api/v1/car-sales/{world.sale.id}/qr.png", headers=bearer(client, "dealer.car")).data
    with phone_page() as page:
        page.goto(decode_qr(png))
        page.fill("#name", "王")
        page.fill("#id_number", "1234")
        page.fill("#phone", "12")
        page.click("#verify")
        page.wait_for_selector("#form-error")
        _assert_each_beside_its_field(page, {"name": "#name", "id_number": "#id_number", "phone": "#phone",
                                             "code": "#code"})
        page.screenshot(path="/tmp/forms-identity-errors.png", full_page=True)

        page.fill("#name", APPLICANT_NAME)
        page.fill("#id_number", APPLICANT_ID)
        page.fill("#phone", APPLICANT_PHONE)
        page.click("#send-code")
        assert "验证码已发送" in page.content()
        with UnitOfWork(committed, None, cipher) as uow:
            code = re.search(r"\d{6}", list_outbox(uow, limit=1)[0].text)
        assert code is not None
        page.fill("#name", APPLICANT_NAME)
        page.fill("#id_number", APPLICANT_ID)
        page.fill("#code", code.group(0))
        page.click("#verify")
        page.wait_for_selector("#apply-form")
        page.check("input[value=car_scrap]")
        page.fill("#bank_card_number", "6222020000000000019")  # fails the Luhn check
        page.fill("#bank_name", "中国工商银行")
        page.click("#submit")  # no certificate number, no consent
        page.wait_for_selector("#form-error")
        _assert_each_beside_its_field(page, {"certificate_number": "#certificate_number",
                                             "bank_card_number": "#bank_card_number", "consent": "label.consent"})
        assert page.input_value("#bank_name") == "中国工商银行"  # what was right is kept
        page.screenshot(path="/tmp/forms-apply-errors.png", full_page=True)


def test_a_dealer_sees_every_bad_field_named_beside_it_at_desk_width(live: tuple[str, Flask], committed,
                                                                      cipher) -> None:
    from subsidy_app.seed import DEMO_PASSWORD, seed_demo

    base, _app = live
    with UnitOfWork(committed, None, cipher) as uow:
        seed_demo(uow)
    with phone_page() as page:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{base}/login?next=/dealer/car-sales/new")
        page.fill("#username", "dealer.car")
        page.fill("#password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#sale-form")
        page.fill("#new_vin", "123")
        page.fill("#invoice_number", "26140000000000000901")
        page.evaluate("document.querySelector('#invoice_date').type = 'text'")  # a typed date, as older browsers
        page.fill("#invoice_date", "2026/06/01")
        page.fill("#invoice_total", "abc")
        page.fill("#nev_catalogue_ref", "2026-第3批")
        page.fill("#buyer_name", "张三")
        page.fill("#buyer_id_number", APPLICANT_ID)
        page.click("#register-sale")
        page.wait_for_selector("#form-error")
        messages = dict(page.eval_on_selector_all(".field-error", "els => els.map(e => [e.id, e.innerText])"))
        assert set(messages) == {"new_vin-error", "invoice_date-error", "invoice_total-error"}
        assert messages["invoice_date-error"].startswith("开票日期:日期格式应为 YYYY-MM-DD")
        assert messages["new_vin-error"].startswith("新车车架号:")
        assert messages["invoice_total-error"].startswith("价税合计:")
        page.screenshot(path="/tmp/forms-sale-errors-desk.png", full_page=True)

"""The appliance dealer's pages: the till, sales with returns and pickups, bulk uploads, statements and posters."""

from __future__ import annotations

import io
import re

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.core.clock import business_date
from subsidy_app.core.uow import UnitOfWork
from tests.appliance_fixtures import AC, FRIDGE, WASHER, appliance_world, buyer_token
from tests.car_fixtures import resident_id
from tests.helpers import login

TILL = "/dealer/appliances/till"
BULK_HEADER = "商品条码,序列号/IMEI,成交价,发票号码,销售日期,购买人姓名,购买人身份证号,购买人手机号\n"


def till_form(store_id: int, token: str | None, gtin: str = AC, *, n: int = 1, **changed: str) -> dict[str, str]:
    """A valid till form (buyer by the phone's confirmation); `n` gives fresh serial and invoice numbers."""
    return {"store_id": str(store_id), "gtin": gtin, "price": "3999.00", "serial_number": f"PG{n:08d}",
            "invoice_number": f"2614{n + 5000:016d}", "invoice_code": "", "delivery_address": "", "mode": "instant",
            "buyer_token": token or "", "buyer_name": "", "buyer_id_number": "", "buyer_phone": "", "buyer_code": "",
            **changed}


def _sales(uow: UnitOfWork) -> int:
    uow.session.expire_all()
    return int(uow.session.scalar(select(func.count()).select_from(ApplianceSale)) or 0)


def _sell(client: FlaskClient, uow: UnitOfWork, csrf: str, store_id: int, serial: int, gtin: str = AC) -> int:
    response = client.post(TILL, data={**till_form(store_id, buyer_token(uow, store_id, serial), gtin, n=serial),
                                       "csrf_token": csrf})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


@pytest.mark.parametrize(("path", "heading"), [
    (TILL, "家电收银台"), ("/dealer/appliances/sales", "家电销售记录"),
    ("/dealer/appliances/returns", "家电退货记录"), ("/dealer/appliances/uploads", "批量上传销售"),
    ("/dealer/appliances/settlements", "结算单"), ("/dealer/appliances/stores", "门店与海报")])
def test_each_page_opens_for_the_dealers_clerk_only(client: FlaskClient, uow: UnitOfWork, demo: dict[str, int],
                                                     path: str, heading: str) -> None:
    appliance_world(uow, demo)
    login(client, "auditor.lishi")
    assert client.get(path).status_code == 403
    login(client, "dealer.appliance")
    page = client.get(path)
    assert page.status_code == 200 and f"<h1>{heading}</h1>" in page.get_data(as_text=True)


def test_a_till_sale_with_the_buyers_confirmation_shows_the_subsidy_and_the_receipt_qr(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    csrf = login(client, "dealer.appliance")
    sale_id = _sell(client, uow, csrf, world.store_id, 1)
    page = client.get(f"/dealer/appliances/sales/{sale_id}").get_data(as_text=True)
    assert re.search(r'id="subsidy">[\d.]+<', page) and "599.85" in page  # 15% of 3,999.00
    qr = re.search(r'<img src="([^"]+)" alt="小票二维码"', page)
    assert qr is not None and client.get(qr.group(1)).mimetype == "image/png"
    today = client.get("/dealer/appliances/sales").get_data(as_text=True)
    assert re.search(r'共 <strong>1</strong> 笔,补贴合计\(不含已退货\) <strong>599.85</strong>', today)


def test_a_bad_till_form_names_each_field_and_records_nothing(client: FlaskClient, uow: UnitOfWork,
                                                              demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    csrf = login(client, "dealer.appliance")
    response = client.post(TILL, data={**till_form(world.store_id, "forged.token.value", price="12.345",
                                                   mode="sometimes"), "csrf_token": csrf})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="price-error"' in page and 'id="mode-error"' in page
    instant = client.post(TILL, data={**till_form(world.store_id, None), "csrf_token": csrf})
    assert instant.status_code == 422 and 'id="buyer_token-error"' in instant.get_data(as_text=True)
    assert _sales(uow) == 0


def test_a_quote_shows_the_subsidy_before_the_buyer_is_verified_and_holds_nothing(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    csrf = login(client, "dealer.appliance")
    quoted = client.post(f"{TILL}/quote", data={**till_form(world.store_id, None), "csrf_token": csrf})
    assert quoted.status_code == 200 and 'id="quote-amount">599.85<' in quoted.get_data(as_text=True)
    bad = client.post(f"{TILL}/quote", data={**till_form(world.store_id, None, gtin="123"), "csrf_token": csrf})
    assert bad.status_code == 422 and 'id="gtin-error"' in bad.get_data(as_text=True)
    assert _sales(uow) == 0


def test_a_product_outside_the_catalogue_is_told_at_the_till_without_a_sale(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    csrf = login(client, "dealer.appliance")
    response = client.post(TILL, data={**till_form(world.store_id, buyer_token(uow, world.store_id, 3),
                                                   "6901234567892"), "csrf_token": csrf})
    assert response.status_code == 200 and "不在补贴产品目录中" in response.get_data(as_text=True)
    assert _sales(uow) == 0


def test_the_buyer_is_verified_by_id_number_and_the_code_sent_to_their_phone(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    from subsidy_app.messaging.services import list_outbox

    world = appliance_world(uow, demo)
    csrf = login(client, "dealer.appliance")
    phone, id_number = "13912340088", resident_id("14110219880808001")
    form = till_form(world.store_id, None, FRIDGE, n=8, buyer_name="钱七", buyer_id_number=id_number,
                     buyer_phone=phone)
    sent = client.post(f"{TILL}/code", data={**form, "csrf_token": csrf})
    assert sent.status_code == 200 and "验证码已发送" in sent.get_data(as_text=True)
    assert id_number in sent.get_data(as_text=True)  # the till is shown again as typed
    code = re.search(r"\d{6}", list_outbox(uow, limit=1, phone=phone)[0].text)
    assert code is not None
    wrong = client.post(TILL, data={**form, "buyer_code": "000000" if code.group(0) != "000000" else "111111",
                                    "csrf_token": csrf})
    assert wrong.status_code == 422 and 'id="buyer_code-error"' in wrong.get_data(as_text=True)
    sold = client.post(TILL, data={**form, "buyer_code": code.group(0), "csrf_token": csrf})
    assert sold.status_code == 302 and _sales(uow) == 1


def test_a_return_needs_a_reason_then_appears_among_the_returns(client: FlaskClient, uow: UnitOfWork,
                                                                demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    csrf = login(client, "dealer.appliance")
    sale_id = _sell(client, uow, csrf, world.store_id, 11, FRIDGE)
    empty = client.post(f"/dealer/appliances/sales/{sale_id}/return", data={"reason": " ", "csrf_token": csrf})
    assert empty.status_code == 422 and "退货原因" in empty.get_data(as_text=True)
    done = client.post(f"/dealer/appliances/sales/{sale_id}/return", data={"reason": "屏幕坏点", "csrf_token": csrf})
    assert done.status_code == 302
    uow.session.expire_all()
    assert uow.session.get(ApplianceSale, sale_id).state == "returned"  # type: ignore[union-attr]
    returns = client.get("/dealer/appliances/returns").get_data(as_text=True)
    number = uow.session.get(ApplianceSale, sale_id).number  # type: ignore[union-attr]
    assert number in returns and "已退货" in returns
    sales = client.get("/dealer/appliances/sales").get_data(as_text=True)
    assert re.search(r'共 <strong>1</strong> 笔,补贴合计\(不含已退货\) <strong>0.00</strong>', sales)


def test_the_old_items_pickup_is_recorded_once_with_a_valid_date(client: FlaskClient, uow: UnitOfWork,
                                                                 demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    csrf = login(client, "dealer.appliance")
    sale_id = _sell(client, uow, csrf, world.store_id, 12, WASHER)
    bad = client.post(f"/dealer/appliances/sales/{sale_id}/pickup", data={"picked_up_on": "昨天", "csrf_token": csrf})
    assert bad.status_code == 422 and 'id="picked_up_on-error"' in bad.get_data(as_text=True)
    today = business_date().isoformat()
    ok = client.post(f"/dealer/appliances/sales/{sale_id}/pickup", data={"picked_up_on": today, "csrf_token": csrf})
    assert ok.status_code == 302
    assert f"已于 {today} 收旧" in client.get(f"/dealer/appliances/sales/{sale_id}").get_data(as_text=True)


def test_another_dealers_clerk_gets_404_on_each_sale_upload_and_statement(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    csrf = login(client, "dealer.appliance")
    sale_id = _sell(client, uow, csrf, world.store_id, 21)
    upload = _upload(client, csrf, world.store_id, _bulk_file(31, good=1))
    statement = client.post("/dealer/appliances/settlements", data={
        "programme": "appliance", "period_start": business_date().isoformat(),
        "period_end": business_date().isoformat(), "csrf_token": csrf})
    assert statement.status_code == 302, statement.get_data(as_text=True)[:2000]
    statement_id = statement.headers["Location"].rsplit("/", 1)[1]
    other = login(client, "dealer.xiaoyi")
    for path in (f"/dealer/appliances/sales/{sale_id}", f"/dealer/appliances/uploads/{upload}",
                 f"/dealer/appliances/uploads/{upload}/rejected.xlsx",
                 f"/dealer/appliances/settlements/{statement_id}"):
        assert client.get(path).status_code == 404, path
    refused = client.post(f"/dealer/appliances/sales/{sale_id}/return", data={"reason": "越权", "csrf_token": other})
    assert refused.status_code == 404
    assert "离石旗舰店" not in client.get(TILL).get_data(as_text=True)


def _bulk_file(serial: int, *, good: int, bad_price: bool = False) -> bytes:
    lines = [BULK_HEADER]
    for i in range(good):
        n = serial + i
        lines.append(f"{AC},BK{n:08d},3999.00,2614{n + 9000:016d},{business_date()},买家{n},"
                     f"{resident_id(f'14110219900202{n % 1000:03d}')},139{n + 5000:08d}\n")
    if bad_price:
        n = serial + good
        lines.append(f"{FRIDGE},BK{n:08d},三千,2614{n + 9000:016d},{business_date()},买家{n},"
                     f"{resident_id(f'14110219900202{n % 1000:03d}')},139{n + 5000:08d}\n")
    return "".join(lines).encode()


def _upload(client: FlaskClient, csrf: str, store_id: int, data: bytes) -> int:
    response = client.post("/dealer/appliances/uploads", content_type="multipart/form-data", data={
        "store_id": str(store_id), "file": (io.BytesIO(data), "day.csv"), "csrf_token": csrf})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_a_bulk_file_reports_each_rejected_row_and_downloads_them_as_a_workbook(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    csrf = login(client, "dealer.appliance")
    missing = client.post("/dealer/appliances/uploads", content_type="multipart/form-data",
                          data={"store_id": str(world.store_id), "csrf_token": csrf})
    assert missing.status_code == 422 and 'id="file-error"' in missing.get_data(as_text=True)
    upload_id = _upload(client, csrf, world.store_id, _bulk_file(41, good=1, bad_price=True))
    page = client.get(f"/dealer/appliances/uploads/{upload_id}").get_data(as_text=True)
    assert 'id="accepted-count">1<' in page and 'id="error-count">1<' in page and 'data-line="3"' in page
    assert 'value="100"' in page  # the progress bar stands at the end
    book = client.get(f"/dealer/appliances/uploads/{upload_id}/rejected.xlsx")
    sheet = load_workbook(io.BytesIO(book.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("行号", "出错列", "原因", "商品条码") and len(rows) == 2
    assert rows[1][0] == 3 and rows[1][1] == "成交价" and "三千" in rows[1]


def test_a_statement_is_created_for_a_period_and_shows_its_lines(client: FlaskClient, uow: UnitOfWork,
                                                                 demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    csrf = login(client, "dealer.appliance")
    today = business_date().isoformat()
    empty = client.post("/dealer/appliances/settlements", data={
        "programme": "appliance", "period_start": today, "period_end": today, "csrf_token": csrf})
    assert empty.status_code == 409 and "没有待清算" in empty.get_data(as_text=True)
    bad = client.post("/dealer/appliances/settlements", data={
        "programme": "appliance", "period_start": "2026-13-01", "period_end": today, "csrf_token": csrf})
    assert bad.status_code == 422 and 'id="period_start-error"' in bad.get_data(as_text=True)
    _sell(client, uow, csrf, world.store_id, 51)
    made = client.post("/dealer/appliances/settlements", data={
        "programme": "appliance", "period_start": today, "period_end": today, "csrf_token": csrf})
    assert made.status_code == 302
    page = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "599.85" in page and 'id="statement-state">待审核<' in page
    assert "ST" in client.get("/dealer/appliances/settlements").get_data(as_text=True)


def test_the_stores_page_links_each_approved_stores_poster(client: FlaskClient, uow: UnitOfWork,
                                                           demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    login(client, "dealer.appliance")
    page = client.get("/dealer/appliances/stores").get_data(as_text=True)
    for fmt, mimetype in (("png", "image/png"), ("svg", "image/svg+xml"), ("pdf", "application/pdf")):
        path = f"/api/v1/appliance-stores/{world.store_id}/poster.{fmt}"
        assert path in page and client.get(path).mimetype == mimetype


def test_a_dealer_without_an_account_registers_one_on_the_statements_page(client: FlaskClient,
                                                                          demo: dict[str, int]) -> None:
    csrf = login(client, "dealer.xiaoyi")
    assert "尚未登记结算账户" in client.get("/dealer/appliances/settlements").get_data(as_text=True)
    bad = client.post("/dealer/appliances/settlements/account", data={
        "account_name": "", "bank_name": "", "account_number": "12ab", "csrf_token": csrf})
    assert bad.status_code == 422 and 'id="bank_name-error"' in bad.get_data(as_text=True)
    short = client.post("/dealer/appliances/settlements/account", data={
        "account_name": "", "bank_name": "中国银行", "account_number": "12ab", "csrf_token": csrf})
    assert short.status_code == 422 and 'id="account_number-error"' in short.get_data(as_text=True)
    good = client.post("/dealer/appliances/settlements/account", data={
        "account_name": "", "bank_name": "中国银行孝义支行", "account_number": "6222 0000 1111 2222",
        "csrf_token": csrf})
    assert good.status_code == 302
    shown = client.get("/dealer/appliances/settlements").get_data(as_text=True)
    assert "中国银行孝义支行" in shown and "6222000011112222" not in shown and "2222" in shown


def test_a_store_is_opened_with_its_hours_and_waits_for_approval_before_its_poster(
        client: FlaskClient, demo: dict[str, int]) -> None:
    csrf = login(client, "dealer.xiaoyi")
    bad = client.post("/dealer/appliances/stores", data={"name": "", "address": "孝义市府前街 8 号",
                                                         "opens_at": "9点", "closes_at": "", "csrf_token": csrf})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="name-error"' in page and 'id="opens_at-error"' in page
    assert "no-stores" in client.get("/dealer/appliances/stores").get_data(as_text=True)
    good = client.post("/dealer/appliances/stores", data={"name": "孝义府前店", "address": "孝义市府前街 8 号",
                                                          "opens_at": "09:00", "closes_at": "21:00",
                                                          "csrf_token": csrf})
    assert good.status_code == 302
    shown = client.get("/dealer/appliances/stores").get_data(as_text=True)
    assert "孝义府前店" in shown and "09:00–21:00" in shown and "获批后可下载" in shown


def test_a_rejected_cell_that_looks_like_a_formula_stays_text_in_the_workbook(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    csrf = login(client, "dealer.appliance")
    row = (f"{AC},BK00000990,=1+1,26140000000000009990,{business_date()},买家,"
           f"{resident_id('14110219900202990')},13900009990\n")
    upload_id = _upload(client, csrf, world.store_id, (BULK_HEADER + row).encode())
    book = load_workbook(io.BytesIO(client.get(f"/dealer/appliances/uploads/{upload_id}/rejected.xlsx").data))
    price = book.active.cell(row=2, column=6)  # 行号, 出错列, 原因, then the file's columns: 成交价 is the third
    assert price.value == "=1+1" and price.data_type == "s"

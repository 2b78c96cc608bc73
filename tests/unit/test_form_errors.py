"""A refused form for its page: all bad fields at once, Chinese only for residents, the field named for staff."""

from __future__ import annotations

import pytest

from subsidy_app.applications import check_text
from subsidy_app.core.errors import Conflict, FieldErrors, ValidationFailed
from subsidy_app.core.identifiers_trade import normalise_phone
from subsidy_app.form_errors import chinese, for_resident, for_staff, resident_line
from subsidy_app.identity.residents import check_identity


def _refusal(**fields: str) -> ValidationFailed:
    errors = FieldErrors()
    for name, message in fields.items():
        errors.add(name, message)
    with pytest.raises(ValidationFailed) as caught:
        errors.raise_any()
    return caught.value


def test_field_errors_raise_a_lone_refusal_as_it_was_and_several_together() -> None:
    errors = FieldErrors()
    assert errors.value(lambda: normalise_phone("139 1234 0001"), "") == "13912340001"
    errors.raise_any()  # nothing refused: nothing raised
    assert errors.value(lambda: normalise_phone("12"), "fallback") == "fallback"
    with pytest.raises(ValidationFailed) as lone:
        errors.raise_any()
    assert lone.value.reason.startswith("identifier.phone") and list(lone.value.errors) == ["phone"]
    refused = _refusal(phone="手机号格式不正确 / not a mobile number", code="请输入短信验证码 / enter the code")
    assert set(refused.errors) == {"phone", "code"} and refused.reason == "validation.failed"
    assert refused.message.startswith("phone: ") and "; code: " in refused.message  # the API names every field


def test_every_identity_field_is_judged_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_identity(name="王", id_number="123", phone="12", code="")
    assert set(caught.value.errors) == {"name", "id_number", "phone", "code"}


def test_a_resident_page_gets_chinese_only_each_message_once_and_no_field_keys() -> None:
    refused = _refusal(phone="手机号格式不正确 / not a mobile number",
                       id_number="身份证号长度应为 18 位 / 18 characters")
    refused.errors["phone"].append("手机号格式不正确 / not a mobile number")
    shown = for_resident(refused)
    assert shown == {"message": None,
                     "fields": {"phone": ["手机号格式不正确"], "id_number": ["身份证号长度应为 18 位"]}}
    conflict = for_resident(Conflict("该证明已被使用 / already used"))
    assert conflict == {"message": "该证明已被使用", "fields": {}}
    aliased = for_resident(ValidationFailed.field("bank_card", "卡号校验位不正确 / wrong check digit"),
                           aliases={"bank_card": "bank_card_number"})
    assert aliased["fields"] == {"bank_card_number": ["卡号校验位不正确"]}


def test_an_office_page_names_the_field_in_every_message() -> None:
    refused = ValidationFailed.field("occurred_on", "日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD")
    shown = for_staff(refused, labels={"occurred_on": "日期"})
    assert shown == {"message": None,
                     "fields": {"occurred_on": ["日期:日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD"]}}
    assert chinese("没有英文") == "没有英文"


def test_a_check_reads_without_raw_codes() -> None:
    assert check_text.title("fraud.outside_hours:0") == "风险提示"
    assert check_text.title("certificate.unused") == "回收证明使用情况"
    assert check_text.title("rule.window.purchase_date") == "购买日期"
    assert check_text.detail("回收证明状态:issued") == "回收证明状态:有效（未使用）"
    assert check_text.detail("回收证明状态:used") == "回收证明状态:已用于补贴申请"


def test_a_resident_flash_names_the_field_by_its_label_in_chinese() -> None:
    refused = ValidationFailed.field("bank_card", "卡号校验位不正确 / wrong check digit")
    line = resident_line(refused, labels={"bank_card_number": "银行卡号"}, aliases={"bank_card": "bank_card_number"})
    assert line == "银行卡号:卡号校验位不正确"
    assert resident_line(Conflict("当前状态不能更正 / not now"), labels={}) == "当前状态不能更正"

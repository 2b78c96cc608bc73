"""How a stored check reads for people: a Chinese name for what was checked and its finding, never a raw code.

Every page that lists checks (the reviewer's detail, the resident's status) goes through `for_people`; the API
keeps the stored code and texts as they are.
"""

from __future__ import annotations

import re
from typing import Any

from recycling.issuing import STATE_LABELS as CERTIFICATE_STATES

# What each check looks at, by its code (a rule clause's code is "rule." and the clause).
TITLES = {
    "certificate.exists": "报废机动车回收证明", "certificate.licensed": "拆解企业资质",
    "certificate.unused": "回收证明使用情况", "certificate.names_applicant": "回收证明车主",
    "registry.found": "旧车登记记录", "registry.deregistered": "旧车注销", "registry.transferred_out": "旧车转出",
    "registry.owner_is_applicant": "旧车登记所有人", "invoice.buyer_is_applicant": "购车发票购买方",
    "new_vin.unfunded": "新车补贴记录", "bank_card.own": "收款银行卡",
    "rule.window.purchase_date": "购买日期", "rule.window.apply_by": "申请期限", "rule.category.allowed": "补贴品类",
    "rule.price.positive": "购买价格", "rule.price.unit_ceiling": "单价上限", "rule.energy_grade.allowed": "能效等级",
    "rule.applicant.individual": "申请人身份", "rule.applicant.same_person": "申请人与车主",
    "rule.old_vehicle.first_registration": "旧车注册日期", "rule.old_vehicle.owner_since": "旧车登记时长",
    "rule.old_vehicle.nev_requires_new_nev": "新能源旧车换新", "rule.new_vehicle.type": "新车类型",
    "rule.new_vehicle.displacement": "新车排量", "rule.new_vehicle.nev_catalogue": "新能源车型目录",
}
# A code without its own title is named by its family; a fraud signal's code carries its place (":0").
FAMILIES = {"rule": "政策条件", "fraud": "风险提示", "certificate": "回收证明", "registry": "车辆登记",
            "invoice": "购车发票", "bank_card": "收款银行卡", "new_vin": "新车"}
# Checks stored before states were labelled read "回收证明状态:issued".
_RAW_STATE = re.compile(r"(回收证明状态[::])\s*([a-z_]+)")


def title(code: str) -> str:
    """Return the Chinese name of what a check looks at."""
    bare = code.split(":", 1)[0]
    return TITLES.get(bare) or FAMILIES.get(bare.split(".", 1)[0], "核验项")


def detail(explanation_zh: str) -> str:
    """Return a check's finding for people: a certificate's state by its Chinese label."""
    return _RAW_STATE.sub(lambda m: m.group(1) + CERTIFICATE_STATES.get(m.group(2), "未知"), explanation_zh)


def for_people(check: dict[str, Any]) -> dict[str, Any]:
    """Add a stored check's `title` and `detail` (its finding) as people read them."""
    return {**check, "title": title(str(check["code"])), "detail": detail(str(check["explanation_zh"]))}

"""Demo data: a dismantling licence, sites at three levels, certificates, intakes, used cars, targets."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from recycling import certificates, closed_loop, issuing, sites, targets, used_cars
from recycling.domain import QualificationKind, SiteLevel
from recycling.intake import IntakeDraft, record_intake
from recycling.site_kinds import SiteKind
from subsidy_app.core.clock import business_date
from subsidy_app.core.identifiers import vin_check_digit
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.demo_residents import DEMO_TRADE_INS, NEW_CAR_CATALOGUE, NEW_CAR_PRICE, DemoTradeIn
from subsidy_app.identity.organisations import organisation_named
from subsidy_app.runtime import Runtime
from subsidy_app.seed import DEMO_ORGS, DEMO_PASSWORD, SEED_ACTOR, demo_note, demo_step, seed_demo

_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
# (code, name, level, county) per demo recycler
_SITES = {
    "recycler:dismantler": [("LS-D01", "离石区滨河交投点", SiteLevel.DROP_OFF, "141102"),
                            ("LS-T01", "离石区中转站", SiteLevel.TRANSFER, "141102"),
                            ("LS-S01", "吕梁市报废车拆解分拣中心", SiteLevel.SORTING, "141102")],
    "recycler:renewable": [("FY-D01", "汾阳市太和桥交投点", SiteLevel.DROP_OFF, "141182"),
                           ("XY-D01", "孝义市新义交投点", SiteLevel.DROP_OFF, "141181"),
                           ("FY-T01", "汾阳市中转站", SiteLevel.TRANSFER, "141182"),
                           ("FY-S01", "汾阳市再生资源分拣中心", SiteLevel.SORTING, "141182")],
}
_KINDS = {"recycler:dismantler": SiteKind.VEHICLES, "recycler:renewable": SiteKind.RENEWABLE}
_APPLIANCES = [("appliance.refrigerator", 55), ("appliance.washing_machine", 40), ("appliance.television", 18),
               ("appliance.air_conditioner", 45), ("office.computer", 9), ("office.printer", 12)]


def _vin(rng: random.Random) -> str:
    body = "LSV" + "".join(rng.choice(_VIN_CHARS) for _ in range(14))
    vin = body[:8] + "0" + body[9:]
    return vin[:8] + vin_check_digit(vin) + vin[9:]


@demo_step("recycling network and recovery volumes")
def seed_recycling(runtime: Runtime) -> str:
    """Create licences, sites, certificates, intakes, used-car transfers and load baselines and targets."""
    with runtime.unit_of_work() as uow:
        ids = seed_demo(uow)
        dismantler, renewable = ids["org:recycler:dismantler"], ids["org:recycler:renewable"]
        if sites.site_by_code(uow, organisation_id=dismantler, code="LS-D01") is not None:
            return "already there"
        today = business_date()
        sites.register_qualification(uow, actor=SEED_ACTOR, organisation_id=dismantler,
                                     kind=QualificationKind.DISMANTLING, number="晋商拆解〔2021〕011号",
                                     valid_from=dt.date(2021, 3, 1), valid_to=dt.date(2027, 2, 28))
        sites.register_qualification(uow, actor=SEED_ACTOR, organisation_id=renewable,
                                     kind=QualificationKind.RENEWABLE_FILING, number="吕商再生备〔2023〕027号",
                                     valid_from=dt.date(2023, 6, 1), valid_to=None)
        site_ids: dict[str, int] = {}
        for key, rows in _SITES.items():
            for code, name, level, county in rows:
                site_ids[code] = sites.register_site(uow, actor=SEED_ACTOR, organisation_id=ids[f"org:{key}"],
                                                     code=code, name=name, level=level, county_code=county,
                                                     kind=_KINDS[key])
        rng = random.Random(2026)
        for _ in range(60):
            category, kg = rng.choice(_APPLIANCES)
            code = rng.choice(["FY-D01", "XY-D01"])
            record_intake(uow, actor=SEED_ACTOR, acting_org_id=renewable, draft=IntakeDraft(
                site_id=site_ids[code], source="resident", category=category, units=rng.randint(1, 3),
                weight_kg=Decimal(kg * rng.randint(1, 3)), occurred_on=today - dt.timedelta(days=rng.randint(1, 60))))
        for _ in range(20):
            used_cars.register_used_car_transfer(
                uow, actor=SEED_ACTOR, reporter_org_id=ids["org:dealer:car"], vin=_vin(rng),
                transferred_on=today - dt.timedelta(days=rng.randint(1, 60)),
                price=Decimal(rng.randint(20, 150) * 1000), county_code=rng.choice(["141102", "141181", "141182"]))
        closed_loop.register_hand_in_obligation(
            uow, trade_in_ref="DEMO-APPL-0001", kind="appliance", dealer_org_id=ids["org:dealer:appliance"],
            county_code="141102", category="appliance.refrigerator", occurred_on=today - dt.timedelta(days=20))
        closed_loop.register_hand_in_obligation(
            uow, trade_in_ref="DEMO-APPL-0002", kind="appliance", dealer_org_id=ids["org:dealer:appliance"],
            county_code="141102", category="appliance.washing_machine", occurred_on=today - dt.timedelta(days=3))
        targets.load_shipped(uow, actor=SEED_ACTOR)
        uow.commit()
    return f"{len(site_ids)} sites, 60 intakes, 20 used cars"


@demo_step("trade-in certificates")
def issue_trade_in_certificates(runtime: Runtime) -> str:
    """Issue each demo resident's certificate for her deregistered car, if not issued yet (older demos lack them)."""
    issued = 0
    with runtime.unit_of_work() as uow:
        dismantler = organisation_named(uow, DEMO_ORGS["recycler:dismantler"][1])
        site = sites.site_by_code(uow, organisation_id=dismantler or 0, code="LS-S01")
        if dismantler is None or site is None:
            return "no demo dismantler"
        for t in DEMO_TRADE_INS:
            if certificates.find_certificate(uow, dismantler_org_id=dismantler, number=t.certificate_number):
                continue
            issuing.issue_certificate(uow, actor=SEED_ACTOR, dismantler_org_id=dismantler, draft=issuing.
                                      CertificateDraft(
                number=t.certificate_number, owner_name=t.name, owner_id_number=t.id_number,
                handover_date=t.handover_date, first_registration_date=t.first_registration, plate=t.old_plate,
                vehicle_type="vehicle.passenger", use_type="A", make_model="大众 桑塔纳 SVW7182", vin=t.old_vin,
                curb_weight_kg=Decimal("1150"), fuel_type="1", engine_number=f"E2012{t.serial:05d}",
                site_id=site.id))
            issued += 1
        uow.commit()
    return f"{issued} certificates"


def ready_trade_in(uow: UnitOfWork) -> DemoTradeIn | None:
    """The first demo resident whose certificate is issued and still unused."""
    dismantler = organisation_named(uow, DEMO_ORGS["recycler:dismantler"][1])
    for t in DEMO_TRADE_INS:
        found = certificates.find_certificate(uow, dismantler_org_id=dismantler, number=t.certificate_number)
        if found is not None and certificates.certificate_facts(uow, certificate_id=found).state == "issued":
            return t
    return None


@demo_note(10)
def car_trade_in_note(runtime: Runtime, base_url: str) -> list[str]:
    """The walk-through of one car scrap-renewal the demo data lets through every check."""
    with runtime.unit_of_work() as uow:
        t = ready_trade_in(uow)
    if t is None:
        return ["一、汽车报废更新:演示回收证明已全部使用;删除数据库文件后重新运行 lvliang demo 可重新开始。"]
    return [
        "一、汽车报废更新(一笔可直接办理的申请,全部核验可通过)",
        f"  居民:{t.name}  身份证号:{t.id_number}  手机号:{t.phone}",
        f"  旧车:{t.old_plate}  车架号 {t.old_vin},已报废并在车辆登记信息中注销",
        f"  报废机动车回收证明编号:{t.certificate_number}(未使用,车主为{t.name})",
        f"  1. 经销商登录 {base_url}/login,账号 dealer.car,密码 {DEMO_PASSWORD},点“登记新车销售”,填写:",
        f"     新车车架号 {t.new_vin};车辆类型 新能源汽车;车型目录批次 {NEW_CAR_CATALOGUE}",
        f"     发票号码 {t.invoice_number}(数电票,发票代码不填);开票日期 {business_date()};"
        f"价税合计 {NEW_CAR_PRICE}",
        f"     购车人姓名 {t.name};身份证号 {t.id_number}",
        "  2. 登记后页面显示二维码和申请链接:用手机扫码(或在浏览器中打开链接),填写上面的姓名、身份证号、手机号,",
        f"     点“获取验证码”。验证码在短信发件箱:用 admin 登录,工作台点“短信发件箱”({base_url}/staff/sms)。",
        f"     申请页选“报废更新”,回收证明编号填 {t.certificate_number},各项材料上传任意照片(JPG/PNG),",
        f"     银行卡号 {t.card},开户银行 中国工商银行,勾选承诺后提交。",
        "  3. 离石区审核员登录(账号 auditor.lishi),点“补贴申请审核”,打开该申请,点“初审通过”;",
        "     居民扫描回执上的状态二维码,可见“审核通过,待发放”。",
    ]

"""Demo data: a dismantling licence, sites at three levels, certificates, intakes, used cars, targets."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from recycling import closed_loop, issuing, sites, targets, used_cars
from recycling.domain import QualificationKind, SiteLevel
from recycling.intake import IntakeDraft, record_intake
from recycling.site_kinds import SiteKind
from subsidy_app.core.clock import business_date
from subsidy_app.core.identifiers import vin_check_digit
from subsidy_app.runtime import Runtime
from subsidy_app.seed import SEED_ACTOR, demo_step, seed_demo

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
        for n in range(8):
            issuing.issue_certificate(uow, actor=SEED_ACTOR, dismantler_org_id=dismantler, draft=issuing.
                                      CertificateDraft(
                number=f"JL-BF-{today.year}-{n + 1:05d}", owner_name="张三", owner_id_number="11010519491231002X",
                handover_date=today - dt.timedelta(days=3 + 5 * n), first_registration_date=dt.date(2011, 4, 1),
                plate=f"晋J{rng.randint(10000, 99999)}", vehicle_type="vehicle.passenger", use_type="A",
                make_model="桑塔纳 SVW7182", vin=_vin(rng), curb_weight_kg=Decimal("1150"), fuel_type="1",
                engine_number=f"E{rng.randint(10**7, 10**8 - 1)}", site_id=site_ids["LS-S01"]))
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
    return f"{len(site_ids)} sites, 8 certificates, 60 intakes, 20 used cars"

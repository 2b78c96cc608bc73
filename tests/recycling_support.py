"""Test data for the recycling package: factories for certificates and intakes, a dismantler with sites."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

import factory

from recycling import sites
from recycling.domain import QualificationKind, SiteLevel
from recycling.intake import IntakeDraft
from recycling.issuing import CertificateDraft
from subsidy_app.core.clock import business_date
from subsidy_app.core.identifiers import vin_check_digit
from subsidy_app.core.uow import UnitOfWork

ACTOR = "test:recycling"
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
OWNER_ID = "11010519491231002X"


def make_vin(seed: int) -> str:
    """Return a VIN with a correct check digit, different for each seed."""
    rng = random.Random(seed)
    body = "LVS" + "".join(rng.choice(VIN_CHARS) for _ in range(14))
    vin = body[:8] + "0" + body[9:]
    return vin[:8] + vin_check_digit(vin) + vin[9:]


class CertificateDraftFactory(factory.Factory):
    """A valid certificate draft."""

    class Meta:
        model = CertificateDraft

    number = factory.Sequence(lambda n: f"JL-2026-{n:06d}")
    owner_name = "王小明"
    owner_id_number = OWNER_ID
    handover_date = factory.LazyFunction(lambda: business_date() - dt.timedelta(days=1))
    first_registration_date = dt.date(2012, 5, 1)
    plate = "晋J12345"
    vehicle_type = "vehicle.passenger"
    use_type = "A"
    make_model = "大众 桑塔纳 SVW7182"
    vin = factory.Sequence(make_vin)
    curb_weight_kg = Decimal("1180.000")
    fuel_type = "1"
    engine_number = factory.Sequence(lambda n: f"E{n:08d}")
    phone = "13812345678"


class IntakeDraftFactory(factory.Factory):
    """A valid intake draft (site_id must be given)."""

    class Meta:
        model = IntakeDraft

    site_id = 0
    source = "resident"
    category = "appliance.refrigerator"
    units = 1
    weight_kg = Decimal("55.500")
    occurred_on = factory.LazyFunction(lambda: business_date() - dt.timedelta(days=2))


@dataclass(frozen=True)
class Network:
    """A dismantler with a licence and one site per level, plus a second recycler's drop-off point."""

    org_id: int
    drop_off: int
    transfer: int
    sorting: int
    other_org_id: int
    other_drop_off: int


def build_network(uow: UnitOfWork, demo: dict[str, int], *, licence_to: dt.date | None = None) -> Network:
    """Create the licence and sites of the demo dismantler and a drop-off of the renewable recycler."""
    org = demo["org:recycler:dismantler"]
    other = demo["org:recycler:renewable"]
    sites.register_qualification(uow, actor=ACTOR, organisation_id=org, kind=QualificationKind.DISMANTLING,
                                 number=f"T-DISM-{org}", valid_from=dt.date(2020, 1, 1),
                                 valid_to=licence_to or dt.date(2030, 12, 31))
    ids = {level: sites.register_site(uow, actor=ACTOR, organisation_id=org, code=f"T-{level.value}",
                                      name=f"测试{level.value}", level=level, county_code="141102")
           for level in SiteLevel}
    other_site = sites.register_site(uow, actor=ACTOR, organisation_id=other, code="T-R-DROP", name="测试交投点",
                                     level=SiteLevel.DROP_OFF, county_code="141182")
    return Network(org, ids[SiteLevel.DROP_OFF], ids[SiteLevel.TRANSFER], ids[SiteLevel.SORTING], other, other_site)

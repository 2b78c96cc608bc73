"""Demo data: registry records for a Lüliang resident's old cars and the demo trade-ins' scrapped cars."""

from __future__ import annotations

from subsidy_app.demo_residents import registry_csv
from subsidy_app.runtime import Runtime
from subsidy_app.seed import SEED_ACTOR, demo_step
from subsidy_app.vehicles import services

DEMO_OWNER_ID = "141102199001010018"  # 离石区, born 1990-01-01, check character computed per GB 11643
DEMO_REGISTRY_CSV = (
    "车辆识别代号,号牌号码,车辆类型,使用性质,燃料种类,初次登记日期,所有人身份证明号码,所有人取得日期,注销日期,注销证明编号,转出日期\n"
    f"LSVAU2189E2000001,晋J12345,小型轿车,非营运,汽油,2011-05-20,{DEMO_OWNER_ID},2011-05-20,,,\n"
    f"LFV2A21K6C3000002,晋J2C345,小型普通客车,非营运,柴油,2013-03-02,{DEMO_OWNER_ID},2016-08-01,,,\n"
    f"LGBH52E03DY000003,晋JD12345,小型轿车,非营运,纯电动,2018-04-10,{DEMO_OWNER_ID},2018-04-10,,,\n"
    f"LSGZB5463F0000004,晋J6K789,小型轿车,非营运,汽油,2012-01-15,{DEMO_OWNER_ID},2012-01-15,2026-01-20,"
    "晋J注20260120001,\n"
).encode()


@demo_step("vehicle registry")
def import_demo_registry(runtime: Runtime) -> str:
    """Import the demo registry files (importing them again changes nothing)."""
    created = unchanged = 0
    with runtime.unit_of_work() as uow:
        for filename, data in (("demo-registry.csv", DEMO_REGISTRY_CSV), ("demo-trade-ins.csv", registry_csv())):
            report = services.import_records(uow, actor=SEED_ACTOR, filename=filename, data=data)
            created, unchanged = created + report.created, unchanged + report.unchanged
        uow.commit()
    return f"{created} created, {unchanged} unchanged"

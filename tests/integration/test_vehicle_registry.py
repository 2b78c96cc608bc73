"""Registry imports on a real database: validated rows, upsert by VIN, idempotent, GBK and XLSX, no clear IDs."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import OrgKind, Principal, Role
from subsidy_app.vehicles import services
from subsidy_app.vehicles.demo import DEMO_OWNER_ID, DEMO_REGISTRY_CSV
from subsidy_app.vehicles.domain import HEADERS
from subsidy_app.vehicles.models import VehicleOwnership, VehicleRecordRow

HEADER = ",".join(HEADERS)
OTHER_OWNER = "141102198503150024"
CITY = Principal(kind="staff", account_id=1, username="city", organisation_kind=OrgKind.BUREAU,
                 roles=frozenset({Role.ADMIN}), all_counties=True)


def _csv(*rows: str, encoding: str = "utf-8") -> bytes:
    return "\n".join([HEADER, *rows]).encode(encoding)


def test_demo_file_imports_and_lookup_answers_every_question(uow: UnitOfWork) -> None:
    report = services.import_records(uow, actor="t", filename="r.csv", data=DEMO_REGISTRY_CSV)
    assert (report.accepted, report.created, report.rejected) == (4, 4, [])
    registry = services.LocalVehicleRegistry(uow)
    petrol = registry.lookup("lsvau2189e2000001")
    assert petrol is not None
    assert (petrol.fuel, petrol.first_registration, petrol.owner_since) == ("petrol", dt.date(2011, 5, 20),
                                                                            dt.date(2011, 5, 20))
    assert petrol.owner_id_hash == uow.cipher.match_hash(DEMO_OWNER_ID)
    assert petrol.owner_id_masked == "1411**********0018"
    assert registry.lookup("LGBH52E03DY000003").fuel == "nev"  # type: ignore[union-attr]
    scrapped = registry.lookup("LSGZB5463F0000004")
    assert scrapped is not None and scrapped.deregistered and scrapped.deregistration_certificate == "晋J注20260120001"
    assert registry.lookup("LFV2A21K6C3000002").fuel == "diesel"  # type: ignore[union-attr]
    assert registry.lookup("1M8GDM9AXKP042788") is None


def test_owner_ids_are_never_stored_in_clear(uow: UnitOfWork) -> None:
    services.import_records(uow, actor="t", filename="r.csv", data=DEMO_REGISTRY_CSV)
    stored = str(uow.session.execute(select(VehicleRecordRow.__table__)).all())
    stored += str(uow.session.execute(select(VehicleOwnership.__table__)).all())
    assert DEMO_OWNER_ID not in stored and DEMO_OWNER_ID[6:14] not in stored


def test_importing_the_same_file_twice_changes_nothing(uow: UnitOfWork) -> None:
    services.import_records(uow, actor="t", filename="r.csv", data=DEMO_REGISTRY_CSV)
    before = uow.session.execute(select(VehicleRecordRow.vin, VehicleRecordRow.updated_at)).all()
    again = services.import_records(uow, actor="t", filename="r.csv", data=DEMO_REGISTRY_CSV)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert uow.session.execute(select(VehicleRecordRow.vin, VehicleRecordRow.updated_at)).all() == before
    assert uow.session.scalar(select(func.count()).select_from(VehicleOwnership)) == 4


def test_a_change_of_owner_updates_the_record_and_keeps_the_history(uow: UnitOfWork) -> None:
    services.import_records(uow, actor="t", filename="a.csv", data=DEMO_REGISTRY_CSV)
    sold = _csv(f"LSVAU2189E2000001,晋J12345,小型轿车,非营运,汽油,2011-05-20,{OTHER_OWNER},2024-03-01,,,")
    report = services.import_records(uow, actor="t", filename="b.csv", data=sold)
    assert report.updated == 1
    record = services.LocalVehicleRegistry(uow).lookup("LSVAU2189E2000001")
    assert record is not None and record.owner_since == dt.date(2024, 3, 1)
    history = services.ownership_history(uow, vin="LSVAU2189E2000001")
    assert [d for _m, d in history] == [dt.date(2011, 5, 20), dt.date(2024, 3, 1)]


def test_bad_rows_are_reported_with_line_and_field_and_good_rows_kept(uow: UnitOfWork) -> None:
    data = _csv(
        f"LSVAU2188E2000001,晋J12345,小型轿车,非营运,汽油,2011-05-20,{DEMO_OWNER_ID},2011-05-20,,,",  # check digit
        "LFV2A21K6C3000002,晋J2C345,小型普通客车,非营运,柴油,2013-03-02,141102199001010019,2016-08-01,,,",  # ID
        f"LGBH52E03DY000003,晋JD12345,小型轿车,非营运,纯电动,2018-13-10,{DEMO_OWNER_ID},2018-04-10,,,",  # date
        f"LSGZB5463F0000004,晋J6K789,小型轿车,非营运,汽油,2012-01-15,{DEMO_OWNER_ID},2012-01-15,,,",
        f"LSGZB5463F0000004,晋J6K789,小型轿车,非营运,汽油,2012-01-15,{DEMO_OWNER_ID},2012-01-15,,,",  # repeat
        f"LSVAU2189E2000001,京X,小型轿车,非营运,汽油,2011-05-20,{DEMO_OWNER_ID},2011-05-20,,,",  # plate
    )
    report = services.import_records(uow, actor="t", filename="bad.csv", data=data)
    assert report.accepted == 1
    assert [(e.line, e.field) for e in report.rejected] == [
        (2, "vin"), (3, "owner_id"), (4, "first_registration"), (6, "vin"), (7, "plate")]
    assert report.rejected[0].reason == "identifier.vin.check_digit"


def test_gbk_csv_and_xlsx_files_are_read(uow: UnitOfWork) -> None:
    gbk = _csv(f"LSVAU2189E2000001,晋J12345,小型轿车,非营运,汽油,2011-05-20,{DEMO_OWNER_ID},2011-05-20,,,",
               encoding="gbk")
    assert services.import_records(uow, actor="t", filename="gbk.csv", data=gbk).created == 1
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    sheet.append(["LFV2A21K6C3000002", "晋J2C345", "小型普通客车", "非营运", "2", dt.datetime(2013, 3, 2),
                  DEMO_OWNER_ID, dt.datetime(2016, 8, 1), None, None, dt.datetime(2025, 2, 1)])
    out = io.BytesIO()
    book.save(out)
    report = services.import_records(uow, actor="t", filename="x.xlsx", data=out.getvalue())
    assert (report.created, report.rejected) == (1, [])
    moved = services.LocalVehicleRegistry(uow).lookup("LFV2A21K6C3000002")
    assert moved is not None and moved.transferred_out and moved.fuel == "diesel"


def test_a_file_without_the_registry_headers_is_refused(uow: UnitOfWork) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.import_records(uow, actor="t", filename="x.csv", data=b"vin,plate\nA,B\n")
    assert exc.value.reason == "file.header" and "file" in exc.value.errors


def test_deregistration_certificate_is_recorded_once_per_vin(uow: UnitOfWork) -> None:
    services.import_records(uow, actor="t", filename="r.csv", data=DEMO_REGISTRY_CSV)
    record = services.record_deregistration(uow, principal=CITY, vin="LSVAU2189E2000001",
                                            certificate_number="晋J注2026001", deregistered_on=dt.date(2026, 2, 1))
    assert record.deregistered and record.deregistration_certificate == "晋J注2026001"
    again = services.record_deregistration(uow, principal=CITY, vin="LSVAU2189E2000001",
                                           certificate_number="晋J注2026001", deregistered_on=dt.date(2026, 2, 1))
    assert again == record
    with pytest.raises(Conflict) as exc:
        services.record_deregistration(uow, principal=CITY, vin="LSVAU2189E2000001", certificate_number="晋J注2026999",
                                       deregistered_on=dt.date(2026, 2, 2))
    assert exc.value.reason == "vehicle.deregistration_conflict"
    with pytest.raises(NotFound):
        services.record_deregistration(uow, principal=CITY, vin="1M8GDM9AXKP042788", certificate_number="X0001",
                                       deregistered_on=dt.date(2026, 2, 2))

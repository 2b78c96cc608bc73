"""Serving documents: bureau staff who may see the owner, and the owning resident, with headers that stop HTML."""

from __future__ import annotations

from flask.testing import FlaskClient

from subsidy_app.core.uow import UnitOfWork
from subsidy_app.documents import services
from subsidy_app.identity import persons
from tests.car_fixtures import car_world, submit
from tests.doc_files import PDF_BYTES, png_bytes
from tests.helpers import bearer, reason_of


def _store(uow: UnitOfWork, data: bytes, owner_ref: str = "person:77", name: str = "证明.pdf") -> int:
    ref = services.store_document(uow, actor="t", kind="deregistration_certificate", filename=name, data=data,
                                  owner_ref=owner_ref)
    uow.commit()
    return ref.id


def test_city_level_reviewer_gets_the_pdf_inline_with_safe_headers(client: FlaskClient, demo: dict[str, int],
                                                                     uow: UnitOfWork) -> None:
    person_id = persons.register_person(uow, actor="t", name="王小明", id_number="11010519491231002X")
    doc_id = _store(uow, PDF_BYTES, owner_ref=f"person:{person_id}")
    response = client.get(f"/documents/{doc_id}", headers=bearer(client, "senior.city"))
    assert response.status_code == 200
    assert response.data == PDF_BYTES
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline;") and "%E8%AF%81%E6%98%8E.pdf" in disposition


def test_clerks_and_anonymous_callers_are_refused(client: FlaskClient, demo: dict[str, int],
                                                  uow: UnitOfWork) -> None:
    doc_id = _store(uow, png_bytes())
    assert client.get(f"/documents/{doc_id}").status_code == 401
    assert client.get(f"/documents/{doc_id}", headers=bearer(client, "dealer.car")).status_code == 403


def test_resident_sees_own_document_but_not_another_persons(client: FlaskClient, uow: UnitOfWork) -> None:
    own = _store(uow, png_bytes(), owner_ref="person:77", name="me.png")
    other = _store(uow, png_bytes("black"), owner_ref="person:78", name="them.png")
    with client.session_transaction() as sess:
        sess["resident_person_id"] = 77
    response = client.get(f"/documents/{own}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    refused = client.get(f"/documents/{other}")
    assert refused.status_code == 404
    assert reason_of(refused) == "not_found"


def test_unknown_document_is_404_envelope(client: FlaskClient, demo: dict[str, int]) -> None:
    body = client.get("/documents/123456", headers=bearer(client, "admin")).get_json()
    assert body["code"] == 404 and body["reason"] == "document.not_found"


def test_an_application_scan_opens_only_for_staff_of_its_county_city_level_staff_and_its_resident(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    world = car_world(uow, demo)
    done = submit(uow, world)  # an application of 离石区 (141102)
    doc_id = _store(uow, png_bytes("grey"), owner_ref=f"application:{done.number}", name="身份证.png")
    other = client.get(f"/documents/{doc_id}", headers=bearer(client, "auditor.xiaoyi"))  # 孝义市 (141181)
    assert other.status_code == 404 and other.get_json()["reason"] == "not_found"
    for user in ("auditor.lishi", "senior.city", "finance.city"):
        assert client.get(f"/documents/{doc_id}", headers=bearer(client, user)).status_code == 200, user
    with client.session_transaction() as sess:
        sess["resident_person_id"] = world.person_id
    assert client.get(f"/documents/{doc_id}").status_code == 200

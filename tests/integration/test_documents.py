"""Documents on a real database: stored once by SHA-256, listed per owner, audited."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.audit.models import AuditEvent
from subsidy_app.core.errors import NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.documents import services
from subsidy_app.documents.models import DocumentBlob
from subsidy_app.identity.domain import Principal
from tests.doc_files import HTML_BYTES, PDF_BYTES, png_bytes


def test_store_computes_sha256_and_sniffs_the_type_whatever_the_name(uow: UnitOfWork) -> None:
    data = png_bytes()
    ref = services.store_document(uow, actor="t", kind="id_card", filename="scan.pdf", data=data,
                                  owner_ref="application:1")
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert (ref.content_type, ref.size, ref.filename) == ("image/png", len(data), "scan.png")
    assert services.load_document(uow, document_id=ref.id).data == data
    assert services.document_owner(uow, ref.id) == "application:1"


def test_same_bytes_twice_share_one_blob_and_both_documents_list(uow: UnitOfWork) -> None:
    first = services.store_document(uow, actor="t", kind="scrap_certificate", filename="a.pdf", data=PDF_BYTES,
                                    owner_ref="application:7")
    second = services.store_document(uow, actor="t", kind="vehicle_invoice", filename="b.pdf", data=PDF_BYTES,
                                     owner_ref="application:7")
    services.store_document(uow, actor="t", kind="other", filename="c.png", data=png_bytes(), owner_ref="other:1")
    assert first.sha256 == second.sha256 and first.id != second.id
    blobs = uow.session.scalar(select(func.count()).select_from(DocumentBlob).where(
        DocumentBlob.sha256 == first.sha256))
    assert blobs == 1
    assert [d.id for d in services.list_documents(uow, owner_ref="application:7")] == [first.id, second.id]


def test_html_renamed_jpg_is_refused_and_nothing_is_stored(uow: UnitOfWork) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.store_document(uow, actor="t", kind="photo", filename="photo.jpg", data=HTML_BYTES,
                                owner_ref="application:1")
    assert exc.value.reason == "document.type"
    assert services.list_documents(uow, owner_ref="application:1") == []


def test_storing_records_an_audit_event(uow: UnitOfWork) -> None:
    ref = services.store_document(uow, actor="account:1:x", kind="photo", filename="p.png", data=png_bytes(),
                                  owner_ref="person:3")
    uow.commit()
    event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "document.stored",
                                                        AuditEvent.entity_id == str(ref.id)))
    assert event is not None and event.actor == "account:1:x"


def test_missing_document_is_not_found(uow: UnitOfWork) -> None:
    with pytest.raises(NotFound):
        services.document_owner(uow, 999_999)


def test_a_document_is_visible_exactly_when_its_owner_is(uow: UnitOfWork) -> None:
    own = services.store_document(uow, actor="t", kind="photo", filename="p.png", data=png_bytes(),
                                  owner_ref="person:5")
    app_doc = services.store_document(uow, actor="t", kind="photo", filename="p.png", data=png_bytes("green"),
                                      owner_ref="testapp:9")
    five, six = Principal(kind="resident", person_id=5), Principal(kind="resident", person_id=6)
    assert services.may_see_document(uow, document_id=own.id, principal=five)
    assert not services.may_see_document(uow, document_id=own.id, principal=six)
    assert not services.may_see_document(uow, document_id=app_doc.id, principal=five)  # no check: nobody
    services.register_owner_check("testapp", lambda _uow, ref, p: ref == "testapp:9" and p.person_id == 5)
    assert services.may_see_document(uow, document_id=app_doc.id, principal=five)
    assert not services.may_see_document(uow, document_id=app_doc.id, principal=six)


def test_concurrent_uploads_of_the_same_bytes_both_succeed(
    postgres: None, committed: sessionmaker[Session], committed_uow: UnitOfWork
) -> None:
    data = png_bytes("purple")

    def upload(n: int) -> int:
        with UnitOfWork(committed, committed_uow.dispatcher, committed_uow.cipher) as tx:
            ref = services.store_document(tx, actor="t", kind="photo", filename=f"{n}.png", data=data,
                                          owner_ref="application:42")
            tx.commit()
            return ref.id

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(upload, range(8)))
    assert len(set(ids)) == 8
    assert len(services.list_documents(committed_uow, owner_ref="application:42")) == 8
    assert committed_uow.session.scalar(select(func.count()).select_from(DocumentBlob)) == 1

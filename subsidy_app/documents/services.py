"""Document use cases: store an upload, list an owner's documents, load one for serving."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from subsidy_app.audit import services as audit
from subsidy_app.core.db import is_postgres
from subsidy_app.core.errors import NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.core.uploads import seal, unseal
from subsidy_app.documents.domain import DEFAULT_MAX_BYTES, DocumentRef, check_upload, parse_kind, safe_filename
from subsidy_app.documents.models import Document, DocumentBlob
from subsidy_app.identity import visibility
from subsidy_app.identity.domain import Principal

# check(uow, owner_ref, principal): may the caller see the object a document belongs to?
OwnerCheck = Callable[[UnitOfWork, str, Principal], bool]
_OWNER_CHECKS: dict[str, OwnerCheck] = {}


@dataclass(frozen=True)
class DocumentContent:
    """A document's reference and bytes, for serving."""

    ref: DocumentRef
    data: bytes


def _ref(row: Document) -> DocumentRef:
    return DocumentRef(row.id, row.sha256, row.content_type, row.size, row.kind, row.filename)


def _clean_owner_ref(owner_ref: str) -> str:
    value = owner_ref.strip()
    if not value or len(value) > 100:
        raise ValidationFailed.field("owner_ref", "归属对象无效 / owner reference is not valid",
                                     reason="document.owner_ref")
    return value


def store_document(
    uow: UnitOfWork,
    *,
    actor: str,
    kind: str,
    filename: str,
    data: bytes,
    owner_ref: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> DocumentRef:
    """Check and store an upload (sniffed JPEG, PNG or PDF), deduplicating its bytes by SHA-256."""
    doc_kind = parse_kind(kind)
    owner = _clean_owner_ref(owner_ref)
    content_type = check_upload(data, max_bytes=max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    values = {"sha256": digest, "content_type": content_type, "size": len(data), "data": seal(uow, data)}
    # Two workers storing the same bytes at once: the second insert is a no-op, not an error.
    if is_postgres(uow.session):
        uow.session.execute(pg_insert(DocumentBlob).values(**values).on_conflict_do_nothing())
    else:
        uow.session.execute(sqlite_insert(DocumentBlob).values(**values).on_conflict_do_nothing())
    row = Document(kind=doc_kind.value, filename=safe_filename(filename, content_type), content_type=content_type,
                   size=len(data), sha256=digest, owner_ref=owner, uploaded_by=actor)
    uow.session.add(row)
    uow.flush()
    audit.record(uow, actor=actor, action="document.stored", entity_type="document", entity_id=row.id,
                 after={"kind": row.kind, "owner_ref": owner, "sha256": digest, "size": row.size,
                        "content_type": content_type})
    return _ref(row)


def list_documents(uow: UnitOfWork, *, owner_ref: str) -> list[DocumentRef]:
    """List the documents attached to an owner reference, oldest first."""
    rows = uow.session.scalars(select(Document).where(Document.owner_ref == owner_ref).order_by(Document.id))
    return [_ref(r) for r in rows]


def get_document(uow: UnitOfWork, *, document_id: int) -> DocumentRef:
    """Return one document's reference."""
    row = uow.session.get(Document, document_id)
    if row is None:
        raise NotFound("材料不存在 / document not found", reason="document.not_found")
    return _ref(row)


def document_owner(uow: UnitOfWork, document_id: int) -> str:
    """Return the owner reference of a document, for the caller's access check."""
    row = uow.session.get(Document, document_id)
    if row is None:
        raise NotFound("材料不存在 / document not found", reason="document.not_found")
    return row.owner_ref


def load_document(uow: UnitOfWork, *, document_id: int) -> DocumentContent:
    """Return a document with its bytes."""
    row = uow.session.get(Document, document_id)
    if row is None:
        raise NotFound("材料不存在 / document not found", reason="document.not_found")
    blob = uow.session.get(DocumentBlob, row.sha256)
    assert blob is not None  # the foreign key guarantees it
    return DocumentContent(_ref(row), unseal(uow, blob.data))


def register_owner_check(prefix: str, check: OwnerCheck) -> None:
    """Let a package say who may see the objects behind refs starting `prefix:` (staff and residents alike)."""
    _OWNER_CHECKS[prefix] = check


def may_see_document(uow: UnitOfWork, *, document_id: int, principal: Principal) -> bool:
    """Tell whether the caller may see a document: exactly when they may see the object that owns it."""
    owner = document_owner(uow, document_id)
    kind, _, key = owner.partition(":")
    if kind == "person" and key.isdigit():
        return visibility.may_see_person(uow, principal, int(key))
    check = _OWNER_CHECKS.get(kind)
    return bool(check and check(uow, owner, principal))

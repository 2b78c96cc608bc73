"""Document tables: content-addressed blobs and the documents that point at them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from subsidy_app.core.constraints import register
from subsidy_app.core.db import Base, BigId, utcnow
from subsidy_app.core.uploads import stored_upload


class DocumentBlob(Base):
    """File bytes keyed by their SHA-256, stored once however often they are uploaded."""

    __tablename__ = "document_blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # sealed: ID-card scans are personal data
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


stored_upload(DocumentBlob.data, finished=None)  # evidence of its application: kept as long as the document


class Document(Base):
    """One uploaded document: its kind, owner reference, uploader and blob."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(ForeignKey("document_blob.sha256"), index=True)
    owner_ref: Mapped[str] = mapped_column(String(100), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

# What each constraint's refusal means to the client (see core.constraints).
register('pk_document_blob', 'document.exists',
         '该文件已保存 / this file is already stored')

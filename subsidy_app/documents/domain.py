"""Document rules: accepted kinds, content sniffing by magic bytes, size limits, safe file names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from subsidy_app.core.errors import ValidationFailed

DEFAULT_MAX_BYTES = 8 * 1024 * 1024  # 8 MiB per file; configurable via the `document_max_bytes` setting
MIN_BYTES = 16  # smaller than any real scan: an empty or truncated upload


class DocumentKind(StrEnum):
    """What a document proves."""

    SCRAP_CERTIFICATE = "scrap_certificate"  # 报废机动车回收证明
    DEREGISTRATION_CERTIFICATE = "deregistration_certificate"  # 机动车注销证明
    VEHICLE_INVOICE = "vehicle_invoice"  # 机动车销售统一发票
    REGISTRATION_CERTIFICATE = "registration_certificate"  # 机动车登记证书
    ID_CARD = "id_card"  # 身份证
    BANK_CARD = "bank_card"  # 银行卡
    PRODUCT_INVOICE = "product_invoice"  # 商品发票
    PHOTO = "photo"  # 现场照片
    OTHER = "other"


KIND_LABELS_ZH = {
    DocumentKind.SCRAP_CERTIFICATE: "报废机动车回收证明",
    DocumentKind.DEREGISTRATION_CERTIFICATE: "机动车注销证明",
    DocumentKind.VEHICLE_INVOICE: "机动车销售统一发票",
    DocumentKind.REGISTRATION_CERTIFICATE: "机动车登记证书",
    DocumentKind.ID_CARD: "身份证",
    DocumentKind.BANK_CARD: "银行卡",
    DocumentKind.PRODUCT_INVOICE: "商品发票",
    DocumentKind.PHOTO: "现场照片",
    DocumentKind.OTHER: "其他材料",
}

EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}


@dataclass(frozen=True)
class DocumentRef:
    """A stored document as callers see it."""

    id: int
    sha256: str
    content_type: str
    size: int
    kind: str = DocumentKind.OTHER.value
    filename: str = ""


def _refuse(zh: str, en: str, reason: str) -> ValidationFailed:
    return ValidationFailed.field("file", f"{zh} / {en}", reason=reason)


def parse_kind(value: str) -> DocumentKind:
    """Return the document kind, or refuse an unknown one naming field `kind`."""
    try:
        return DocumentKind(value)
    except ValueError:
        raise ValidationFailed.field("kind", "材料类型无效 / unknown document kind", reason="document.kind") from None


def sniff_content_type(data: bytes) -> str | None:
    """Return the content type the bytes really are (JPEG, PNG or PDF), ignoring names and client claims."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    # PNG signature, then an IHDR chunk first (PNG spec §5.2, §11.2.2): a renamed file fails here.
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        return "image/png"
    # PDF 1.7 §7.5.2 header; a complete file ends with %%EOF (§7.5.5), a truncated upload does not.
    if data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]:
        return "application/pdf"
    return None


def check_upload(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Check size and sniff the type; return the content type or raise naming field `file`."""
    if len(data) < MIN_BYTES:
        raise _refuse("文件为空或内容不完整", "the file is empty or truncated", "document.empty")
    if len(data) > max_bytes:
        limit = f"{max_bytes / (1024 * 1024):g}"
        raise _refuse(f"文件超过 {limit} MB", f"the file is larger than {limit} MiB", "document.too_large")
    content_type = sniff_content_type(data)
    if content_type is None:
        raise _refuse("只接受 JPEG、PNG 图片或 PDF 文件", "only JPEG, PNG or PDF files are accepted", "document.type")
    return content_type


_UNSAFE_NAME = re.compile(r"[^\w.\-()\u4e00-\u9fff ]+")


def safe_filename(name: str, content_type: str) -> str:
    """Return a display name without paths or control characters, ending in the sniffed type's extension."""
    base = unicodedata.normalize("NFKC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = _UNSAFE_NAME.sub("_", base.rsplit(".", 1)[0] if "." in base else base).strip(" ._")[:100]
    return f"{stem or 'document'}{EXTENSIONS[content_type]}"

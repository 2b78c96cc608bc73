"""Uploads are judged by their bytes, not their names: type sniffing, size limits, safe names."""

from __future__ import annotations

import pytest

from subsidy_app.core.errors import ValidationFailed
from subsidy_app.documents.domain import check_upload, parse_kind, safe_filename, sniff_content_type
from tests.doc_files import HTML_BYTES, PDF_BYTES, jpeg_bytes, png_bytes


def test_real_png_jpeg_and_pdf_are_recognised() -> None:
    assert sniff_content_type(png_bytes()) == "image/png"
    assert sniff_content_type(jpeg_bytes()) == "image/jpeg"
    assert sniff_content_type(PDF_BYTES) == "application/pdf"


@pytest.mark.parametrize("data", [HTML_BYTES, b"GIF89a" + b"\0" * 40, b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
                                  PDF_BYTES.replace(b"%%EOF", b"")])
def test_html_gif_fake_png_and_truncated_pdf_are_refused_as_wrong_type(data: bytes) -> None:
    with pytest.raises(ValidationFailed) as exc:
        check_upload(data)
    assert exc.value.reason == "document.type"
    assert "file" in exc.value.errors


def test_empty_and_oversized_files_are_refused_with_their_reasons() -> None:
    with pytest.raises(ValidationFailed) as empty:
        check_upload(b"")
    assert empty.value.reason == "document.empty"
    with pytest.raises(ValidationFailed) as big:
        check_upload(png_bytes(), max_bytes=50)
    assert big.value.reason == "document.too_large"
    assert check_upload(png_bytes(), max_bytes=10_000) == "image/png"


def test_unknown_kind_names_the_kind_field() -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_kind("selfie")
    assert exc.value.errors.keys() == {"kind"}


def test_safe_filename_drops_paths_and_takes_the_sniffed_extension() -> None:
    assert safe_filename("../../etc/报废证明.html", "application/pdf") == "报废证明.pdf"
    assert safe_filename("C:\\scans\\id card.JPG", "image/jpeg") == "id card.jpg"
    assert safe_filename("", "image/png") == "document.png"
    assert safe_filename('<script>"x".png', "image/png") == "script_x.png"

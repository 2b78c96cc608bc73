"""Realistic small upload files for document tests: a real PNG and JPEG (Pillow) and a minimal PDF."""

from __future__ import annotations

import io

from PIL import Image


def png_bytes(colour: str = "red") -> bytes:
    """Return a tiny real PNG."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes() -> bytes:
    """Return a tiny real JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(out, format="JPEG")
    return out.getvalue()


PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
HTML_BYTES = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"

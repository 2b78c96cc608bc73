"""QR codes and signed, expiring tokens for printed documents (no Flask)."""

from __future__ import annotations

import io
from typing import Any

import qrcode
import qrcode.image.svg
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from subsidy_app.core.errors import ValidationFailed

_SALT_PREFIX = "lvliang.qr."


def render_png(url: str, *, box_size: int = 8) -> bytes:
    """Render a URL as a PNG QR code."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()


def render_svg(url: str) -> str:
    """Render a URL as an SVG QR code (text)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage)
    text: str = image.to_string(encoding="unicode")
    return text


def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    # A salt per purpose: a token signed for one document kind never verifies as another.
    return URLSafeTimedSerializer(secret_key, salt=_SALT_PREFIX + purpose)


def sign_token(secret_key: str, purpose: str, payload: dict[str, Any], max_age_days: int) -> str:
    """Sign a payload for a purpose; `max_age_days` is recorded so readers can enforce it."""
    return str(_serializer(secret_key, purpose).dumps({**payload, "_d": int(max_age_days)}))


def read_token(secret_key: str, purpose: str, token: str, max_age_seconds: int | None = None) -> dict[str, Any]:
    """Check a token's signature and age; return its payload or raise ValidationFailed."""
    serializer = _serializer(secret_key, purpose)
    try:
        data: dict[str, Any] = serializer.loads(token, max_age=max_age_seconds)
        days = data.pop("_d", None)
        if max_age_seconds is None and isinstance(days, int):
            serializer.loads(token, max_age=days * 86400)
    except SignatureExpired:
        raise ValidationFailed.field("token", "二维码已过期 / the QR code has expired", reason="qr.expired") from None
    except (BadSignature, ValueError, TypeError):
        raise ValidationFailed.field("token", "二维码无效 / the QR code is not valid", reason="qr.invalid") from None
    return data

"""QR codes and signed tokens: expiring ones for a sale's apply code, lasting ones for printed codes (no Flask)."""

from __future__ import annotations

import io
from typing import Any

import qrcode
import qrcode.image.svg
from itsdangerous import BadData, Serializer, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from subsidy_app.core.errors import ValidationFailed

_SALT_PREFIX = "lvliang.qr."
# Lasting codes sign under their own salts: one can never be read as an expiring token of any purpose.
_PRINTED_SALT_PREFIX = "lvliang.printed."


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


def _invalid() -> ValidationFailed:
    return ValidationFailed.field("token", "二维码无效 / the QR code is not valid", reason="qr.invalid")


def sign_token(secret_key: str, purpose: str, payload: dict[str, Any], max_age_days: int) -> str:
    """Sign an expiring payload for a purpose; `max_age_days` is recorded so readers can enforce it."""
    if int(max_age_days) < 1:
        raise ValueError("an expiring token needs at least one day; printed codes use sign_printed")
    return str(_serializer(secret_key, purpose).dumps({**payload, "_d": int(max_age_days)}))


def read_token(secret_key: str, purpose: str, token: str, max_age_seconds: int | None = None) -> dict[str, Any]:
    """Check an expiring token's signature and age; return its payload or raise ValidationFailed.

    The age limit is the caller's, else the one signed into the token; a token with neither is refused, so no
    token of an expiring purpose is ever read as lasting."""
    serializer = _serializer(secret_key, purpose)
    try:
        data: dict[str, Any] = serializer.loads(token, max_age=max_age_seconds)
        days = data.pop("_d", None)
        if max_age_seconds is None:
            if not isinstance(days, int) or isinstance(days, bool) or days < 1:
                raise _invalid()
            serializer.loads(token, max_age=days * 86400)
    except SignatureExpired:
        raise ValidationFailed.field("token", "二维码已过期 / the QR code has expired", reason="qr.expired") from None
    except (BadData, ValueError, TypeError):
        raise _invalid() from None
    return data


def read_token_past_expiry(secret_key: str, purpose: str, token: str) -> dict[str, Any]:
    """Check an expiring token's signature but not its age; return its payload or raise ValidationFailed.

    Only for what an expired code may still show (a sale's code opens the progress of its application, never a
    new one); the caller decides that, every other reader uses read_token."""
    try:
        data = _serializer(secret_key, purpose).loads(token)  # without max_age: the signature only
    except (BadData, ValueError, TypeError):
        raise _invalid() from None
    days = data.pop("_d", None) if isinstance(data, dict) else None
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise _invalid()  # not a token of an expiring purpose
    return dict(data)


def sign_printed(secret_key: str, purpose: str, payload: dict[str, Any]) -> str:
    """Sign a lasting code for paper (a store poster, a certificate): it never expires, its record is revoked."""
    return str(URLSafeSerializer(secret_key, salt=_PRINTED_SALT_PREFIX + purpose).dumps(payload))


def read_printed(secret_key: str, purpose: str, token: str, *, formerly_expiring: bool = False) -> dict[str, Any]:
    """Check a printed code's signature (never its age); return its payload or raise ValidationFailed.

    `formerly_expiring` also accepts what this purpose printed as an expiring token before it became lasting,
    whatever its age: those codes hang on walls already. Only a purpose that was printed may set it."""
    readers: list[Serializer[str]] = [URLSafeSerializer(secret_key, salt=_PRINTED_SALT_PREFIX + purpose)]
    if formerly_expiring:
        readers.append(_serializer(secret_key, purpose))  # loads() without max_age checks no age
    for reader in readers:
        try:
            data = reader.loads(token)
        except (BadData, ValueError, TypeError):
            continue
        if isinstance(data, dict):
            data.pop("_d", None)  # the age an old code was printed with: no longer a limit
            return data
    raise _invalid()

"""Domain errors with stable reasons; only subsidy_app.http turns them into HTTP responses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

T = TypeVar("T")


class DomainError(Exception):
    """Base of every error a client can cause; carries a stable machine reason."""

    status = 400
    default_reason = "error"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        message_en: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.message_en = message_en
        self.reason = reason or self.default_reason
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in (errors or {}).items()}


class ValidationFailed(DomainError):
    """Input is well-formed JSON but a field's value is wrong (422)."""

    status = 422
    default_reason = "validation.failed"

    @classmethod
    def field(cls, field: str, message: str, *, reason: str | None = None) -> ValidationFailed:
        """Build an error naming one field."""
        return cls(f"{field}: {message}", reason=reason, errors={field: [message]})


class NotAuthenticated(DomainError):
    """No valid session or token (401)."""

    status = 401
    default_reason = "auth.required"


class Forbidden(DomainError):
    """Authenticated, but the role or scope does not cover this (403)."""

    status = 403
    default_reason = "auth.forbidden"


class NotFound(DomainError):
    """The entity does not exist or is outside the caller's scope (404)."""

    status = 404
    default_reason = "not_found"


class Conflict(DomainError):
    """The request is valid but clashes with the current state (409)."""

    status = 409
    default_reason = "conflict"


class RateLimited(DomainError):
    """Too many requests from one client (429)."""

    status = 429
    default_reason = "rate_limited"


class FieldErrors:
    """Gathers the refusals of a form's fields so every one is reported at once, not only the first."""

    def __init__(self) -> None:
        self.found: list[ValidationFailed] = []

    def value(self, read: Callable[[], T], fallback: T) -> T:
        """Return read()'s value; when it refuses its field, note that and return `fallback` (never used: raise_any
        raises before the form's values are)."""
        try:
            return read()
        except ValidationFailed as exc:
            self.found.append(exc)
            return fallback

    def refused(self, field: str) -> bool:
        """Tell whether a field is already refused (its later checks would judge a stand-in value)."""
        return any(field in exc.errors for exc in self.found)

    def add(self, field: str, message: str, *, reason: str | None = None) -> None:
        """Note a refusal of one field."""
        self.found.append(ValidationFailed.field(field, message, reason=reason))

    def raise_any(self) -> None:
        """Raise a lone refusal as it was; several as one ValidationFailed naming each field in its message."""
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            errors: dict[str, list[str]] = {}
            for exc in self.found:
                for name, messages in exc.errors.items():
                    errors.setdefault(name, []).extend(m for m in messages if m not in errors.get(name, []))
            reasons = {exc.reason for exc in self.found}
            raise ValidationFailed("; ".join(exc.message for exc in self.found),
                                   reason=reasons.pop() if len(reasons) == 1 else None, errors=errors)

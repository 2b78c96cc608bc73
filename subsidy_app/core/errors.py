"""Domain errors with stable reasons; only subsidy_app.http turns them into HTTP responses."""

from __future__ import annotations

from collections.abc import Mapping


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

"""Configuration: the only module that reads os.environ."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

# Values a newcomer gets with no configuration; production refuses to start with them.
DEV_SECRET_KEY = "dev-secret-key-change-me"  # noqa: S105 - a marker, refused in production
DEV_DATA_KEY = "dev-data-key-change-me"

INSTANCE_DIR = Path(os.environ.get("SUBSIDY_INSTANCE_DIR", Path.cwd() / "instance"))


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete for the chosen mode."""


@dataclass(frozen=True)
class Settings:
    """Everything the platform reads from its environment."""

    env: str = "development"
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str = DEV_SECRET_KEY
    data_key: str = DEV_DATA_KEY
    public_base_url: str = "http://127.0.0.1:5000"
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    qr_token_days: int = 30
    public_rate_limit: str = "60 per minute"
    quote_rate_limit: str = "120 per minute"
    rate_limit_storage: str = "memory://"
    rate_limits_enabled: bool = True
    # Appliance fraud signals (issue 5 §8): a sale above a limit is flagged for reviewers, never refused.
    fraud_window_days: int = 30
    fraud_deliveries_per_address: int = 3
    fraud_sales_per_phone: int = 3
    fraud_store_buyer_sales: int = 3
    fraud_price_margin_percent: Decimal = Decimal("20")
    # Body limits (issue 20 §4), checked before a body is read: JSON bodies and plain forms (a payment batch of
    # 10,000 ids is ~200 KB), table files (bulk sales, catalogue, intake, bank results, registry), residents'
    # document pages (several photos of at most 8 MiB each).
    json_body_max_bytes: int = 256 * 1024
    upload_max_bytes: int = 16 * 1024 * 1024
    document_upload_max_bytes: int = 20 * 1024 * 1024
    testing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def jobs_in_process(self) -> bool:
        """Tell whether jobs run in this process (no broker configured)."""
        return not self.redis_url

    @property
    def is_production(self) -> bool:
        """Tell whether production safety checks apply."""
        return self.env == "production"

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with some values replaced."""
        known = {f.name for f in fields(self)}
        extra = dict(self.extra)
        direct = {}
        for key, value in overrides.items():
            if key in known:
                direct[key] = value
            else:
                extra[key] = value
        return replace(self, extra=extra, **direct)


def default_sqlite_url() -> str:
    """Return the embedded default database: a SQLite file in the instance folder."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{INSTANCE_DIR / 'platform.sqlite3'}"


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from the environment (or the given mapping)."""
    env = os.environ if environ is None else environ
    settings = Settings(
        env=env.get("SUBSIDY_ENV", env.get("FLASK_ENV", "development")),
        database_url=normalise_database_url(env.get("DATABASE_URL") or default_sqlite_url()),
        redis_url=env.get("REDIS_URL") or None,
        secret_key=env.get("SECRET_KEY", DEV_SECRET_KEY),
        data_key=env.get("DATA_KEY", DEV_DATA_KEY),
        public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        rate_limit_storage=env.get("RATE_LIMIT_STORAGE_URL") or (env.get("REDIS_URL") or "memory://"),
        # Only benchmarks and load tests turn this off; production always limits public pages.
        rate_limits_enabled=env.get("RATE_LIMITS_ENABLED", "1") not in ("0", "false", "off"),
        **_fraud_settings(env),
        **_body_limits(env),
    )
    check_production_safety(settings)
    return settings


def _fraud_settings(env: Any) -> dict[str, Any]:
    """Read the FRAUD_* limits; a value that is not a positive number stops the start, naming the variable."""
    found: dict[str, Any] = {}
    for name in ("window_days", "deliveries_per_address", "sales_per_phone", "store_buyer_sales",
                 "price_margin_percent"):
        key = f"FRAUD_{name.upper()}"
        raw = env.get(key)
        if raw is None or not raw.strip():
            continue
        try:
            value = Decimal(raw.strip()) if name == "price_margin_percent" else Decimal(int(raw.strip()))
        except (InvalidOperation, ValueError):
            raise ConfigError(f"{key} must be a number, got {raw!r}") from None
        if not value.is_finite() or value < (0 if name == "price_margin_percent" else 1):
            raise ConfigError(f"{key} must be {'zero or more' if name == 'price_margin_percent' else 'at least 1'}")
        found[f"fraud_{name}"] = value if name == "price_margin_percent" else int(value)
    return found


def _body_limits(env: Any) -> dict[str, Any]:
    """Read the *_MAX_BYTES body limits; a value that is not a whole number of bytes from 1 KiB stops the start."""
    found: dict[str, Any] = {}
    for name in ("json_body_max_bytes", "upload_max_bytes", "document_upload_max_bytes"):
        raw = (env.get(name.upper()) or "").strip()
        if not raw:
            continue
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1024:
            raise ConfigError(f"{name.upper()} must be a whole number of bytes, at least 1024, got {raw!r}")
        found[name] = int(raw)
    return found


def check_production_safety(settings: Settings) -> None:
    """Refuse to run production with missing or default secrets, naming each one."""
    if not settings.is_production:
        return
    problems = []
    if not settings.secret_key or settings.secret_key == DEV_SECRET_KEY or len(settings.secret_key) < 32:
        problems.append("SECRET_KEY is missing, the development default, or shorter than 32 characters")
    if not settings.data_key or settings.data_key == DEV_DATA_KEY or len(settings.data_key) < 32:
        problems.append("DATA_KEY is missing, the development default, or shorter than 32 characters")
    if settings.database_url.startswith("sqlite"):
        problems.append("DATABASE_URL must point at PostgreSQL in production")
    if not settings.redis_url:
        problems.append("REDIS_URL must be set in production (jobs need a broker)")
    if problems:
        raise ConfigError("Refusing to start in production: " + "; ".join(problems))

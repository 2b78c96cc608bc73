"""Configuration: the only module that reads os.environ."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

# Values a newcomer gets with no configuration; production refuses to start with them.
DEV_SECRET_KEY = "dev-secret-key-change-me"  # noqa: S105 - a marker, refused in production
DEV_DATA_KEY = "dev-data-key-change-me"
DEV_AUDIT_KEY = "dev-audit-key-change-me"

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
    # Keys the audit chain (HMAC-SHA256); kept out of the database so its owner cannot re-forge the chain.
    audit_key: str = DEV_AUDIT_KEY
    # Where each verified checkpoint is appended outside the database; None writes only the log line.
    audit_checkpoint_file: str | None = None
    public_base_url: str = "http://127.0.0.1:5000"
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    qr_token_days: int = 30  # a sale's apply code (till receipt, car sale); posters and certificates never expire
    public_rate_limit: str = "60 per minute"
    quote_rate_limit: str = "120 per minute"
    rate_limit_storage: str = "memory://"
    rate_limits_enabled: bool = True
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto it believes (0: none, the peer is the
    # client). Rate limits key on the address they report; any more and a client could pick its own address.
    trusted_proxy_count: int = 0
    # Appliance fraud signals (issue 5 §8): a sale above a limit is flagged for reviewers, never refused.
    fraud_window_days: int = 30
    fraud_deliveries_per_address: int = 3
    fraud_sales_per_phone: int = 3
    fraud_store_buyer_sales: int = 3
    fraud_price_margin_percent: Decimal = Decimal("20")
    # Review deadline (issues 15, 16): an application still awaiting a reviewer longer than its limit after it was
    # submitted (Beijing days) is shown as overdue. The limit is rule data (a rule version's `review`, 15 days when
    # a version states none); these are the operator's overrides, which win over rule data: REVIEW_DEADLINE_BY_
    # PROGRAMME ("car_scrap=20,appliance=10") per programme first, then REVIEW_DEADLINE_DAYS for every programme.
    review_deadline_days: int | None = None
    # Spot checks (issue 16 §1): a call-back unanswered this many times is concluded "not reachable".
    spot_check_call_attempts: int = 3
    review_deadline_by_programme: dict[str, int] = field(default_factory=dict)
    # Complaints and appeals (issue 16 §2): answered within this many working days; an appeal against a refusal is
    # taken within appeal_window_days of it. The local limits are unconfirmed: defaults. Working days, for these and
    # for review limits a rule version states in working days, are Monday–Friday in Beijing less PUBLIC_HOLIDAYS,
    # plus the make-up working days MAKEUP_WORKDAYS (both "YYYY-MM-DD,..."; core.working_days).
    complaint_deadline_working_days: int = 15
    public_holidays: tuple[dt.date, ...] = ()
    makeup_workdays: tuple[dt.date, ...] = ()
    appeal_window_days: int = 60
    # Uploaded files' bytes are dropped this many days after their job finished (issue 20 §5).
    upload_retention_days: int = 30
    # None: the local SMS outbox shows one-time codes outside production and masks them in production.
    sms_outbox_shows_codes: bool | None = None
    # Background jobs (issue 20 §7): a running job beats every job_heartbeat_seconds; silent for job_stall_seconds
    # its worker is presumed dead, the job shows as stalled and the relay sends it again. A message sent but never
    # started (the broker lost it) is sent again after outbox_redeliver_seconds; beat runs the relay every
    # outbox_relay_seconds. A second delivery is harmless: every job is idempotent.
    job_heartbeat_seconds: float = 15.0
    job_stall_seconds: float = 60.0
    outbox_redeliver_seconds: float = 60.0
    outbox_relay_seconds: float = 15.0
    # Body limits (issue 20 §4), checked before a body is read: JSON bodies and plain forms (a payment batch of
    # 10,000 ids is ~200 KB), table files (bulk sales, catalogue, intake, bank results, registry), residents'
    # document pages (several photos of at most 8 MiB each).
    json_body_max_bytes: int = 256 * 1024
    upload_max_bytes: int = 16 * 1024 * 1024
    document_upload_max_bytes: int = 20 * 1024 * 1024
    # Budget escrow (issue 17 §1, PostgreSQL only): each pool's free money in this many tranches, so a county's
    # tills meet on different rows. 0 (the default until the launch-burst benchmark settles it) sells from the pool
    # row itself; BUDGET_TRANCHES turns it on.
    budget_tranches: int = 0
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

    @property
    def shows_sms_codes(self) -> bool:
        """Tell whether the local SMS outbox records one-time codes in clear (a developer reads them there)."""
        return not self.is_production if self.sms_outbox_shows_codes is None else self.sms_outbox_shows_codes

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
        audit_key=env.get("AUDIT_KEY", DEV_AUDIT_KEY),
        audit_checkpoint_file=env.get("AUDIT_CHECKPOINT_FILE") or str(INSTANCE_DIR / "audit-checkpoints.log"),
        public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        rate_limit_storage=env.get("RATE_LIMIT_STORAGE_URL") or (env.get("REDIS_URL") or "memory://"),
        # Only benchmarks and load tests turn this off; production always limits public pages.
        rate_limits_enabled=env.get("RATE_LIMITS_ENABLED", "1") not in ("0", "false", "off"),
        trusted_proxy_count=_count(env, "TRUSTED_PROXY_COUNT", 0),
        upload_retention_days=_positive_int(env, "UPLOAD_RETENTION_DAYS", 30),
        review_deadline_days=_positive_int(env, "REVIEW_DEADLINE_DAYS", 1)
        if (env.get("REVIEW_DEADLINE_DAYS") or "").strip() else None,
        review_deadline_by_programme=_deadlines_by_programme(env),
        spot_check_call_attempts=_positive_int(env, "SPOT_CHECK_CALL_ATTEMPTS", 3),
        sms_outbox_shows_codes=_flag(env, "SMS_OUTBOX_SHOWS_CODES"),
        complaint_deadline_working_days=_positive_int(env, "COMPLAINT_DEADLINE_WORKING_DAYS", 15),
        public_holidays=_dates(env, "PUBLIC_HOLIDAYS"),
        makeup_workdays=_dates(env, "MAKEUP_WORKDAYS"),
        appeal_window_days=_positive_int(env, "APPEAL_WINDOW_DAYS", 60),
        **_fraud_settings(env),
        **_job_settings(env),
        **_body_limits(env),
        budget_tranches=_count(env, "BUDGET_TRANCHES", 0),
    )
    check_production_safety(settings)
    return settings


def _count(env: Any, key: str, default: int) -> int:
    """Read a whole number of zero or more; anything else stops the start, naming the variable."""
    raw = (env.get(key) or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):  # digits only: no sign, no decimals
        raise ConfigError(f"{key} must be a whole number of zero or more, got {raw!r}")
    return int(raw)


def _dates(env: Any, key: str) -> tuple[dt.date, ...]:
    """Read a comma-separated list of ISO dates; a malformed one stops the start, naming the variable."""
    found: list[dt.date] = []
    for raw in (env.get(key) or "").split(","):
        if raw.strip():
            try:
                found.append(dt.date.fromisoformat(raw.strip()))
            except ValueError:
                raise ConfigError(f"{key} must list dates as YYYY-MM-DD, got {raw.strip()!r}") from None
    return tuple(sorted(set(found)))


def _positive_int(env: Any, key: str, default: int) -> int:
    """Read a whole number of at least 1; anything else stops the start, naming the variable."""
    value = _count(env, key, default)
    if value < 1:
        raise ConfigError(f"{key} must be at least 1")
    return value


def _deadlines_by_programme(env: Any) -> dict[str, int]:
    """Read REVIEW_DEADLINE_BY_PROGRAMME ("programme=days,..."); a malformed pair stops the start, naming it."""
    found: dict[str, int] = {}
    for pair in (env.get("REVIEW_DEADLINE_BY_PROGRAMME") or "").split(","):
        if not pair.strip():
            continue
        programme, _, days = pair.partition("=")
        days = days.strip()
        if not programme.strip() or not (days.isascii() and days.isdigit()) or int(days) < 1:
            raise ConfigError(f"REVIEW_DEADLINE_BY_PROGRAMME needs programme=days with days at least 1, got {pair!r}")
        found[programme.strip()] = int(days)
    return found


def _flag(env: Any, key: str) -> bool | None:
    """Read an on/off switch; unset means the mode's default."""
    raw = (env.get(key) or "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "true", "on", "yes"):
        return True
    if raw in ("0", "false", "off", "no"):
        return False
    raise ConfigError(f"{key} must be 1 or 0, got {raw!r}")


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


JOB_TIMINGS = ("JOB_HEARTBEAT_SECONDS", "JOB_STALL_SECONDS", "OUTBOX_REDELIVER_SECONDS", "OUTBOX_RELAY_SECONDS")


def _job_settings(env: Any) -> dict[str, Any]:
    """Read the job timings; a value that is not a positive number, or a stall limit a live job could reach
    between two heartbeats, stops the start naming the variable."""
    found: dict[str, float] = {}
    for key in JOB_TIMINGS:
        raw = env.get(key)
        if raw is None or not raw.strip():
            continue
        try:
            value = float(raw.strip())
        except ValueError:
            raise ConfigError(f"{key} must be a number of seconds, got {raw!r}") from None
        if not value > 0 or value == float("inf"):
            raise ConfigError(f"{key} must be a positive number of seconds, got {raw!r}")
        found[key.lower()] = value
    heartbeat = found.get("job_heartbeat_seconds", Settings.job_heartbeat_seconds)
    stall = found.get("job_stall_seconds", Settings.job_stall_seconds)
    if stall < 2 * heartbeat:  # one late beat must not make a live job look dead
        raise ConfigError(f"JOB_STALL_SECONDS ({stall:g}) must be at least twice JOB_HEARTBEAT_SECONDS ({heartbeat:g})")
    return found


def _body_limits(env: Any) -> dict[str, Any]:
    """Read the *_MAX_BYTES body limits; a value that is not a whole number of bytes from 1 KiB stops the start."""
    found: dict[str, Any] = {}
    for name in ("json_body_max_bytes", "upload_max_bytes", "document_upload_max_bytes"):
        if (env.get(name.upper()) or "").strip():
            found[name] = _count(env, name.upper(), 0)
            if found[name] < 1024:
                raise ConfigError(f"{name.upper()} must be a whole number of bytes, at least 1024")
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
    if not settings.audit_key or settings.audit_key == DEV_AUDIT_KEY or len(settings.audit_key) < 32:
        problems.append("AUDIT_KEY is missing, the development default, or shorter than 32 characters")
    elif settings.audit_key in (settings.data_key, settings.secret_key):
        # Its own secret, so it can be held (and rotated) apart from the keys the application uses for data.
        problems.append("AUDIT_KEY must differ from DATA_KEY and SECRET_KEY")
    if settings.database_url.startswith("sqlite"):
        problems.append("DATABASE_URL must point at PostgreSQL in production")
    if not settings.redis_url:
        problems.append("REDIS_URL must be set in production (jobs need a broker)")
    if settings.shows_sms_codes:
        problems.append("SMS_OUTBOX_SHOWS_CODES must be off in production (whoever reads the outbox could sign in "
                        "as the resident)")
    if problems:
        raise ConfigError("Refusing to start in production: " + "; ".join(problems))

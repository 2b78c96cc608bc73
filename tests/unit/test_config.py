"""Configuration: embedded defaults, and production refusing unsafe settings by name."""

from __future__ import annotations

import logging

import pytest

from subsidy_app.config import INSTANCE_DIR, ConfigError, load_settings

SECRETS = {"SECRET_KEY": "s" * 40, "DATA_KEY": "d" * 40, "AUDIT_KEY": "a" * 40}
PRODUCTION = {"SUBSIDY_ENV": "production", "DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://r", **SECRETS}


def test_no_configuration_means_sqlite_and_in_process_jobs() -> None:
    settings = load_settings({})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.jobs_in_process


def test_postgres_urls_use_psycopg3() -> None:
    settings = load_settings({"DATABASE_URL": "postgres://u@h/db"})
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATA_KEY", "AUDIT_KEY"])
def test_production_refuses_missing_or_default_secrets_and_names_them(missing: str) -> None:
    env = dict(PRODUCTION)
    del env[missing]
    with pytest.raises(ConfigError, match=missing):
        load_settings(env)


@pytest.mark.parametrize("value", ["dev-audit-key-change-me", "too-short"])
def test_production_refuses_a_default_or_short_audit_key(value: str) -> None:
    with pytest.raises(ConfigError, match="AUDIT_KEY"):
        load_settings({**PRODUCTION, "AUDIT_KEY": value})


@pytest.mark.parametrize("other", ["DATA_KEY", "SECRET_KEY"])
def test_production_refuses_an_audit_key_shared_with_another_secret(other: str) -> None:
    with pytest.raises(ConfigError, match="AUDIT_KEY must differ from DATA_KEY and SECRET_KEY"):
        load_settings({**PRODUCTION, "AUDIT_KEY": PRODUCTION[other]})


def test_audit_checkpoints_go_to_the_instance_folder_unless_configured(tmp_path) -> None:
    assert load_settings({}).audit_checkpoint_file == str(INSTANCE_DIR / "audit-checkpoints.log")
    chosen = str(tmp_path / "bureau" / "checkpoints.log")
    assert load_settings({"AUDIT_CHECKPOINT_FILE": chosen}).audit_checkpoint_file == chosen


def test_development_has_an_audit_key_without_configuration() -> None:
    assert load_settings({}).audit_key == "dev-audit-key-change-me"
    assert load_settings({"AUDIT_KEY": "k" * 40}).audit_key == "k" * 40


def test_production_refuses_sqlite_and_no_broker() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"SUBSIDY_ENV": "production", **SECRETS})
    assert "DATABASE_URL" in str(err.value) and "REDIS_URL" in str(err.value)


def test_production_starts_with_everything_set() -> None:
    settings = load_settings(PRODUCTION)
    assert settings.is_production and not settings.jobs_in_process


def test_trusted_proxy_count_defaults_to_none_and_refuses_what_is_not_a_count() -> None:
    assert load_settings({}).trusted_proxy_count == 0
    assert load_settings({"TRUSTED_PROXY_COUNT": " 2 "}).trusted_proxy_count == 2
    for bad in ("-1", "one", "1.5", "²"):
        with pytest.raises(ConfigError, match="TRUSTED_PROXY_COUNT"):
            load_settings({"TRUSTED_PROXY_COUNT": bad})


def test_app_logs_never_carry_id_numbers_in_clear(app, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("subsidy_app.test").info("applicant %s card %s", "11010519491231002X", "6222021234567890123")
    assert "11010519491231002X" not in caplog.text
    assert "1101**********002X" in caplog.text
    assert "6222021234567890123" not in caplog.text


def test_uploads_are_kept_30_days_unless_configured_and_a_bad_value_is_named() -> None:
    assert load_settings({}).upload_retention_days == 30
    assert load_settings({"UPLOAD_RETENTION_DAYS": "90"}).upload_retention_days == 90
    for bad in ("0", "thirty"):
        with pytest.raises(ConfigError, match="UPLOAD_RETENTION_DAYS"):
            load_settings({"UPLOAD_RETENTION_DAYS": bad})


def test_the_local_sms_outbox_shows_codes_in_development_and_masks_them_in_production() -> None:
    assert load_settings({}).shows_sms_codes
    assert not load_settings({"SMS_OUTBOX_SHOWS_CODES": "0"}).shows_sms_codes
    assert not load_settings(PRODUCTION).shows_sms_codes
    with pytest.raises(ConfigError, match="SMS_OUTBOX_SHOWS_CODES"):
        load_settings({**PRODUCTION, "SMS_OUTBOX_SHOWS_CODES": "1"})


def test_jobs_beat_every_15_seconds_stall_after_a_minute_and_a_lost_message_is_sent_again_after_one() -> None:
    from subsidy_app.broker import RELAY_TASK, make_celery

    settings = load_settings({})
    assert (settings.job_heartbeat_seconds, settings.job_stall_seconds) == (15.0, 60.0)
    assert (settings.outbox_redeliver_seconds, settings.outbox_relay_seconds) == (60.0, 15.0)
    relay = make_celery(settings).conf.beat_schedule["outbox-relay"]
    assert (relay["task"], relay["schedule"]) == (RELAY_TASK, 15.0)
    faster = load_settings({"OUTBOX_REDELIVER_SECONDS": "30", "OUTBOX_RELAY_SECONDS": "5"})
    assert make_celery(faster).conf.beat_schedule["outbox-relay"]["schedule"] == 5.0


@pytest.mark.parametrize(("env", "named"), [
    ({"JOB_STALL_SECONDS": "soon"}, "JOB_STALL_SECONDS"),
    ({"OUTBOX_REDELIVER_SECONDS": "0"}, "OUTBOX_REDELIVER_SECONDS"),
    ({"OUTBOX_RELAY_SECONDS": "-5"}, "OUTBOX_RELAY_SECONDS"),
    ({"JOB_HEARTBEAT_SECONDS": "nan"}, "JOB_HEARTBEAT_SECONDS"),
    ({"JOB_HEARTBEAT_SECONDS": "40"}, "JOB_STALL_SECONDS"),  # a live job would look stalled between two beats
])
def test_job_timings_that_are_not_positive_or_would_stall_a_live_job_stop_the_start(env: dict[str, str],
                                                                                     named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(env)


def test_body_limits_default_small_for_json_and_are_read_from_the_environment() -> None:
    defaults = load_settings({})
    assert defaults.json_body_max_bytes == 256 * 1024 and defaults.upload_max_bytes == 16 * 1024 * 1024
    settings = load_settings({"JSON_BODY_MAX_BYTES": "65536", "UPLOAD_MAX_BYTES": "1048576",
                              "DOCUMENT_UPLOAD_MAX_BYTES": "4194304"})
    assert (settings.json_body_max_bytes, settings.upload_max_bytes, settings.document_upload_max_bytes) == \
        (65536, 1048576, 4194304)


@pytest.mark.parametrize("value", ["abc", "-1", "100", "1e6", "١٠٢٤٠"])
def test_a_body_limit_that_is_not_a_byte_count_stops_the_start_naming_it(value: str) -> None:
    with pytest.raises(ConfigError, match="UPLOAD_MAX_BYTES"):
        load_settings({"UPLOAD_MAX_BYTES": value})

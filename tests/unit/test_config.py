"""Configuration: embedded defaults, and production refusing unsafe settings by name."""

from __future__ import annotations

import logging

import pytest

from subsidy_app.config import ConfigError, load_settings


def test_no_configuration_means_sqlite_and_in_process_jobs() -> None:
    settings = load_settings({})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.jobs_in_process


def test_postgres_urls_use_psycopg3() -> None:
    settings = load_settings({"DATABASE_URL": "postgres://u@h/db"})
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATA_KEY"])
def test_production_refuses_missing_or_default_secrets_and_names_them(missing: str) -> None:
    env = {"SUBSIDY_ENV": "production", "DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://r",
           "SECRET_KEY": "s" * 40, "DATA_KEY": "d" * 40}
    del env[missing]
    with pytest.raises(ConfigError, match=missing):
        load_settings(env)


def test_production_refuses_sqlite_and_no_broker() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"SUBSIDY_ENV": "production", "SECRET_KEY": "s" * 40, "DATA_KEY": "d" * 40})
    assert "DATABASE_URL" in str(err.value) and "REDIS_URL" in str(err.value)


def test_production_starts_with_everything_set() -> None:
    settings = load_settings({"SUBSIDY_ENV": "production", "DATABASE_URL": "postgresql://x/y",
                              "REDIS_URL": "redis://r", "SECRET_KEY": "s" * 40, "DATA_KEY": "d" * 40})
    assert settings.is_production and not settings.jobs_in_process


def test_app_logs_never_carry_id_numbers_in_clear(app, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("subsidy_app.test").info("applicant %s card %s", "11010519491231002X", "6222021234567890123")
    assert "11010519491231002X" not in caplog.text
    assert "1101**********002X" in caplog.text
    assert "6222021234567890123" not in caplog.text


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

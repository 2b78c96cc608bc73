"""`lvliang demo`, the README's first command, on a fresh embedded database."""

from __future__ import annotations

from pathlib import Path

import pytest

from subsidy_app.app import create_app
from tests.conftest import TEST_SECRET_KEY


def test_demo_prepares_a_fresh_database_and_points_qr_codes_at_its_port(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    app = create_app({"database_url": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "secret_key": TEST_SECRET_KEY,
                      "data_key": TEST_SECRET_KEY})
    with app.app_context():  # as the `lvliang` command line pushes it
        result = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--port", "5099"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5099/login" in result.output
    # A receipt or poster QR must open the demo that printed it, not the default port.
    assert app.extensions["subsidy"].settings.public_base_url == "http://127.0.0.1:5099"
    assert "dealer.appliance" in result.output

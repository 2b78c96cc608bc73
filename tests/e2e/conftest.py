"""The browser tests' harness: Debian's Chromium, a live app on a free port, and a real QR decoder."""

from __future__ import annotations

import io
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from tests.conftest import REQUIRE_SERVICES, _settings_dict, make_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE_VIEWPORT = {"width": 390, "height": 844}
DESK_VIEWPORT = {"width": 1280, "height": 800}


def decode_qr(png: bytes) -> str:
    """Read the URL a QR image holds, with a real decoder (zxing-cpp)."""
    import zxingcpp

    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code found in the image"
    return str(results[0].text)


@contextmanager
def _chromium_page(**options: Any) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--lang=zh-CN",  # Chromium's own controls (file and date inputs) in Chinese, as on the offices' machines
            "--disable-component-update", "--disable-sync"])
        try:
            yield browser.new_page(locale="zh-CN", **options)
        finally:
            browser.close()


@contextmanager
def phone_page() -> Iterator[Any]:
    """A Chinese-locale phone-sized page in Debian's Chromium (headless), closed afterwards."""
    with _chromium_page(viewport=PHONE_VIEWPORT, device_scale_factor=2, is_mobile=True, has_touch=True) as page:
        yield page


@contextmanager
def desk_page() -> Iterator[Any]:
    """A Chinese-locale desk-sized page in Debian's Chromium (headless), as the offices' staff use."""
    with _chromium_page(viewport=DESK_VIEWPORT) as page:
        yield page


@pytest.fixture
def live(database_url: str, committed: sessionmaker[Session]) -> Iterator[tuple[str, Flask]]:
    """Serve a real-committing app on a free port, with URLs in QR codes pointing at it."""
    if CHROMIUM is None:
        if REQUIRE_SERVICES:
            pytest.fail("Chromium is not installed (apt-get install chromium)")
        pytest.skip("needs Debian's chromium package")  # local runs only: CI (REQUIRE_SERVICES=1) fails instead
    from subsidy_app.app import create_app

    server = make_server("127.0.0.1", 0, Flask("placeholder"), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    settings = make_settings(database_url, public_base_url=base)
    app = create_app({**_settings_dict(settings), "session_factory": committed})
    server.app = app  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, app
    server.shutdown()

"""The API documentation renders from the platform's own files, with no network beyond the platform."""

from __future__ import annotations

from tests.e2e.conftest import phone_page


def test_api_docs_render_in_chromium_without_a_cdn(live) -> None:
    base, _app = live
    outside: list[str] = []
    with phone_page() as page:
        page.set_viewport_size({"width": 1280, "height": 900})

        def only_the_platform(route) -> None:  # the offices reach nothing else
            if route.request.url.startswith(base):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_the_platform)
        page.goto(f"{base}/api/docs")
        page.wait_for_selector(".opblock-tag", timeout=15000)  # operations grouped by tag: the UI ran
        title = page.inner_text(".info .title")
        page.screenshot(path="/tmp/api-docs.png")
    assert "吕梁市以旧换新与回收交易平台" in title
    assert outside == []

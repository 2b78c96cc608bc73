"""The staff menu agrees with the pages: each entry opens for the roles that see it, and every page is in it."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from subsidy_app.access import declared_rule
from subsidy_app.menu import MENU
from tests.helpers import login

# Staff pages reached from another page rather than from the menu (a form's own result page, a download).
REACHED_FROM_ANOTHER_PAGE: dict[str, str] = {
    "identity_views.workbench": "the menu's own first link (工作台)",
    "review_pages.queue": "in the menu with its state (待初审, 待复核)",
    "identity_views.password": "the username in the page header (修改密码)",
}


def _staff_pages(app: Flask) -> dict[str, frozenset]:  # type: ignore[type-arg]
    """Endpoints of the HTML GET pages without URL arguments that staff roles open."""
    pages = {}
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in (rule.methods or ()) or rule.rule.startswith(("/api/", "/m/", "/static")):
            continue
        declared = declared_rule(app.view_functions[rule.endpoint], "GET")
        if declared is None or declared.public or declared.resident or not declared.roles:
            continue
        if rule.rule.endswith((".csv", ".xlsx", ".png", ".svg", ".pdf")):
            continue
        pages[rule.endpoint] = declared.roles
    return pages


def test_every_menu_entry_opens_for_every_role_that_sees_it(app: Flask) -> None:
    for entry in MENU:
        view = app.view_functions.get(entry.endpoint)
        assert view is not None, f"{entry.label}: no endpoint {entry.endpoint}"
        declared = declared_rule(view, "GET")
        assert declared is not None and entry.roles <= declared.roles, f"{entry.label}: {entry.roles} can't open it"


def test_every_staff_page_is_in_the_menu_or_reached_from_one(app: Flask) -> None:
    listed = {e.endpoint for e in MENU}
    missing = sorted(set(_staff_pages(app)) - listed - set(REACHED_FROM_ANOTHER_PAGE))
    assert missing == [], f"add these pages to subsidy_app/menu.py: {missing}"


@pytest.mark.parametrize(("username", "shown", "hidden"), [
    ("dealer.car", "nav-new-sale", "nav-review"),
    ("auditor.lishi", "nav-review", "nav-batches"),
    ("finance.city", "nav-batches", "nav-new-sale"),
    ("admin", "nav-sms", "nav-intake"),
    ("recycler.renewable", "nav-intake", "nav-dashboard"),
])
def test_the_layout_shows_each_role_its_own_menu(client: FlaskClient, demo: dict[str, int], username: str,
                                                 shown: str, hidden: str) -> None:
    login(client, username)
    page = client.get("/staff").get_data(as_text=True)
    assert f'id="{shown}"' in page and f'id="{hidden}"' not in page and 'id="nav-home"' in page


def test_residents_and_visitors_see_no_staff_menu(client: FlaskClient) -> None:
    assert 'class="staff-menu"' not in client.get("/").get_data(as_text=True)


def test_each_page_shows_where_it_sits_in_the_menu(client: FlaskClient, uow, demo: dict[str, int]) -> None:
    import re

    from tests.api.test_staff_pages import _pending

    def trail(page: str) -> str:
        found = re.search(r'<nav class="breadcrumbs"[^>]*>(.*?)</nav>', page, re.S)
        assert found, "no breadcrumbs"
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()

    app_id = _pending(uow, demo)
    login(client, "auditor.lishi")
    assert trail(client.get("/staff/dashboard").get_data(as_text=True)) == "工作台 › 统计与监管 › 统计看板"
    deeper = trail(client.get(f"/review/{app_id}").get_data(as_text=True))
    entry = "工作台 › 审核 › 补贴申请审核(待初审) › "
    assert deeper.startswith(entry) and len(deeper) > len(entry)  # and then the page's own title
    assert 'class="breadcrumbs"' not in client.get("/staff").get_data(as_text=True)  # the workbench is the root

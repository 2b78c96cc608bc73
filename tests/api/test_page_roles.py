"""Every staff page × every demo role, generated from the URL map: a role the page does not admit gets 403 and
none of the page's content; a role it admits gets the page (a page added later is covered without editing this)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from subsidy_app.access import declared_rule
from tests.helpers import login

# One demo account per role (seed.DEMO_ACCOUNTS).
ACCOUNTS = {"admin": "admin", "auditor": "auditor.lishi", "senior_auditor": "senior.city",
            "finance_officer": "finance.city", "bureau_leader": "leader.city", "dealer_clerk": "dealer.appliance",
            "recycler_clerk": "recycler.dismantler"}


def _pages(app: Flask) -> dict[str, frozenset[str]]:
    """Staff HTML pages reachable by GET without URL arguments, with the roles each admits."""
    pages = {}
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in (rule.methods or ()) or rule.rule.startswith(("/api/", "/m/", "/static")):
            continue
        declared = declared_rule(app.view_functions[rule.endpoint], "GET")
        if declared is None or declared.public or declared.resident or not declared.roles:
            continue
        pages[rule.rule] = frozenset(str(r) for r in declared.roles)
    return pages


def test_every_staff_page_admits_exactly_its_roles(app: Flask, client: FlaskClient, demo: dict[str, int]) -> None:
    pages = _pages(app)
    assert len(pages) > 30  # the generator really found the workbench
    wrong = []
    for role, username in ACCOUNTS.items():
        login(client, username)
        for path, roles in sorted(pages.items()):
            response = client.get(path)
            body = response.get_data(as_text=True)
            if role in roles:
                if response.status_code >= 400 and response.status_code != 422:  # 422: a page that needs a filter
                    wrong.append(f"{username} {path}: {response.status_code}, expected the page")
            elif response.status_code != 403 or 'id="error-page"' not in body or "<table" in body:
                wrong.append(f"{username} {path}: {response.status_code}, expected the 403 page and no data")
        client.post("/logout", data={"csrf_token": login(client, username)})
    assert wrong == [], "\n".join(wrong)


def test_a_recycler_not_yet_registered_for_reverse_invoicing_is_told_why_its_purchases_are_empty(
        client: FlaskClient, demo: dict[str, int]) -> None:
    login(client, "recycler.dismantler")  # the demo registers no reverse-invoicing profile for it
    page = client.get("/reverse-invoice/purchases")
    assert page.status_code == 200 and 'id="not-registered"' in page.get_data(as_text=True)

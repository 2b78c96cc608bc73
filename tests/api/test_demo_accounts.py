"""The demo's bureau leader reads the dashboard's figures only; the administrator's menu opens the SMS outbox."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.helpers import bearer, login


def test_the_bureau_leader_reads_the_dashboard_figures_and_decides_nothing(client: FlaskClient,
                                                                          demo: dict[str, int]) -> None:
    headers = bearer(client, "leader.city")
    for url in ("/api/v1/recovery/hand-ins/closure", "/api/v1/recovery/volumes?year=2026",
                "/api/v1/budget-pools", "/api/v1/recovery/reports"):
        assert client.get(url, headers=headers).status_code == 200, url
    assert client.get("/api/v1/sms/outbox", headers=headers).status_code == 403
    assert client.post("/api/v1/budget-pools", json={}, headers=headers).status_code == 403
    login(client, "leader.city")
    assert client.get("/review").status_code == 403


def test_the_administrators_menu_links_the_sms_outbox_and_no_one_elses_does(client: FlaskClient,
                                                                            demo: dict[str, int]) -> None:
    login(client, "admin")
    menu = client.get("/staff").get_data(as_text=True)
    assert 'id="link-sms"' in menu and 'href="/staff/sms"' in menu
    assert client.get("/staff/sms").status_code == 200
    client.post("/logout", data={"csrf_token": login(client, "admin")})
    login(client, "auditor.lishi")
    assert 'id="link-sms"' not in client.get("/staff").get_data(as_text=True)

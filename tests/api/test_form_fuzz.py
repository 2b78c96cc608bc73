"""Staff HTML forms never answer 5xx or the API's JSON: a valid submission with one field at a time replaced by
garbage.

One field at a time from a *valid* base, so every later field is reached: a fuzzer starting from an empty form
stops at the first required field (that is how a non-numeric site on the certificate form hid its 500)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from tests.api.test_recycling_api import CERTIFICATE, YESTERDAY
from tests.api.test_staff_pages import SALE_FORM
from tests.car_fixtures import vin
from tests.helpers import login
from tests.recycling_support import build_network

GARBAGE = ["", " ", "x" * 5000, "1e400", "-1", "NaN", "0000-01-01", "99999999999999999999999", "\x00", "１２３",
           "<script>alert(1)</script>"]
_serial = itertools.count(1)


def _fuzz(client: FlaskClient, path: str, base: Callable[[], dict[str, Any]], csrf: str) -> list[str]:
    """Post the valid form once per field and garbage value; return what answered 5xx."""
    first = client.post(path, data={**base(), "csrf_token": csrf})
    assert first.status_code == 302, first.get_data(as_text=True)[:500]  # the base really is valid
    failures = []
    for name in base():
        for value in GARBAGE:
            response = client.post(path, data={**base(), name: value, "csrf_token": csrf})
            if response.status_code >= 500 or response.is_json:  # a clerk must get the form back, not JSON
                failures.append(f"{path} {name}={value[:20]!r}: {response.status_code} {response.content_type}")
    return failures


def test_the_dealers_car_sale_form(client: FlaskClient, demo: dict[str, int]) -> None:
    def sale() -> dict[str, Any]:
        n = next(_serial)
        return {**SALE_FORM, "new_vin": vin(7000 + n), "invoice_number": f"2614{n:016d}"}

    csrf = login(client, "dealer.car")
    failures = _fuzz(client, "/dealer/car-sales/new", sale, csrf)
    assert failures == [], "\n".join(failures)
    # The select's options are checked on the server too: a made-up vehicle type used to be stored.
    odd = client.post("/dealer/car-sales/new", data={**sale(), "new_vehicle_type": "NaN", "csrf_token": csrf})
    assert odd.status_code == 422 and "车辆类型" in odd.get_data(as_text=True)


def test_the_recyclers_certificate_and_intake_forms(client: FlaskClient, uow, demo: dict[str, int]) -> None:
    network = build_network(uow, demo)

    def certificate() -> dict[str, Any]:
        n = next(_serial)
        return {**CERTIFICATE, "site_id": str(network.sorting), "number": f"FZ-{n:05d}", "vin": vin(8000 + n)}

    failures = _fuzz(client, "/recycling/certificates/new", certificate, login(client, "recycler.dismantler"))
    assert failures == [], "\n".join(failures)

    def intake() -> dict[str, Any]:
        return {"site_id": str(network.drop_off), "source": "resident", "category": "office.printer", "units": "1",
                "weight_kg": "8.5", "occurred_on": YESTERDAY}

    assert _fuzz(client, "/recycling/intake", intake, login(client, "recycler.dismantler")) == []

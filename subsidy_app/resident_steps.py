"""The identity step every resident page shares (car QR, appliance receipt, store poster): code, then verify."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import flash, redirect, request, session
from flask.typing import ResponseReturnValue

from subsidy_app.core.errors import DomainError
from subsidy_app.http import runtime
from subsidy_app.identity import residents
from subsidy_app.identity.residents import Resident
from subsidy_app.messaging import codes

IDENTITY_FIELDS = ("name", "id_number", "phone")
CODE_SENT = "验证码已发送,5 分钟内有效"
Checked = TypeVar("Checked")
# The page the step was posted from, shown again with the form as entered and the refusal.
Page = Callable[[dict[str, str], DomainError], ResponseReturnValue]


def _form(*extra: str) -> dict[str, str]:
    return {k: request.form.get(k, "").strip() for k in (*IDENTITY_FIELDS, *extra)}


def send_code(*, check: Callable[[], object], page: Page, back: str) -> ResponseReturnValue:
    """Send a code to the phone entered once `check` accepts the page's QR; then back to the page, or re-show it."""
    form = _form()
    session["pending_identity"] = {"name": form["name"], "phone": form["phone"]}  # the page fills them in again
    try:
        check()
        with runtime().unit_of_work() as tx:
            residents.send_code(tx, codes=codes, phone=form["phone"], name=form["name"],
                                id_number=form["id_number"])
            tx.commit()
    except DomainError as exc:
        return page(form, exc)
    flash(CODE_SENT, "ok")
    return redirect(back)


def verify(*, check: Callable[[], Checked], page: Page,
           then: Callable[[Checked, Resident], ResponseReturnValue]) -> ResponseReturnValue:
    """Check the code and find or register the person once `check` accepts the page's QR; `then` goes on."""
    form = _form("code")
    try:
        checked = check()
        with runtime().unit_of_work() as tx:
            resident = residents.verify(tx, codes=codes, actor="resident", name=form["name"],
                                        id_number=form["id_number"], phone=form["phone"], code=form["code"])
            tx.commit()
    except DomainError as exc:
        return page(form, exc)
    return then(checked, resident)


def sign_in(resident: Resident, target: str) -> ResponseReturnValue:
    """Start the resident's session (known by their person id from now on) and go to `target`."""
    session.clear()  # nothing from before the proof carries over, the pending form included
    session["resident_person_id"] = resident.person_id
    return redirect(target)

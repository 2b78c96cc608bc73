"""Residents submit car applications: validated, quota held, certificate and new VIN held by the database."""

from __future__ import annotations

from dataclasses import dataclass

from recycling import certificates
from subsidy_app.applications import facts as gathering
from subsidy_app.applications.domain import Action
from subsidy_app.applications.models import Application
from subsidy_app.applications.sales import SaleView
from subsidy_app.applications.services import (
    CHECK_JOB,
    Kind,
    Opening,
    Submitted,
    load_for_update,
    open_application,
    register_kind,
    transition,
)
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import FieldErrors, Forbidden, ValidationFailed
from subsidy_app.core.identifiers import normalise_vin
from subsidy_app.core.identifiers_trade import normalise_bank_card
from subsidy_app.core.text import checked_text
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.documents.services import store_document
from subsidy_app.identity import persons
from subsidy_app.identity.domain import COUNTIES
from subsidy_app.rules.evaluator import evaluate, select_version
from subsidy_app.rules.ruleset import RuleVersion

CAR_PROGRAMMES = ("car_scrap", "car_replace")
CAR = "car"


def _car(uow: UnitOfWork, app: Application) -> list[tuple[str, str]]:
    """The reviewer's rows of a car application: the new and the old car."""
    return [("新车车架号", app.new_vin or "—"), ("旧车车架号", app.old_vin or "—")]


register_kind(Kind(CAR, prefix="QC", subject=_car, categories=(("passenger_car", "乘用车"),)))


@dataclass(frozen=True)
class CarApplicationInput:
    """What the resident entered on the form."""

    programme: str
    county_code: str
    certificate_number: str | None
    old_vin: str | None
    bank_card_number: str
    bank_name: str
    consent: bool


def _validate(data: CarApplicationInput) -> str | None:
    """Check every field the resident entered at once (each refusal names its field); return the old VIN."""
    errors = FieldErrors()
    if data.programme not in CAR_PROGRAMMES:
        errors.add("programme", "请选择报废更新或置换更新 / choose scrap-renewal or replacement")
    if data.county_code not in COUNTIES:
        errors.add("county_code", "请选择所在区县 / choose your county")
    old_vin = None
    if data.programme == "car_replace":
        if not data.old_vin:
            errors.add("old_vin", "置换更新须填写旧车车架号 / replacement needs the old car's VIN")
        else:
            old_vin = errors.value(lambda: normalise_vin(data.old_vin or "", field="old_vin"), None)
    elif data.programme == "car_scrap":
        number = (data.certificate_number or "").strip()
        if not number:
            errors.add("certificate_number", "报废更新须填写报废机动车回收证明编号 / scrap-renewal needs the scrap "
                                             "certificate number")
        elif len(number) > 60 or not number.isprintable():  # a control character would reach the database's lookup
            errors.add("certificate_number", "回收证明编号格式不正确 / this is not a scrap certificate number",
                       reason="certificate.not_found")
    errors.value(lambda: normalise_bank_card(data.bank_card_number, field="bank_card"), "")
    errors.value(lambda: checked_text(data.bank_name, field="bank_name", max_length=persons.BANK_NAME_LENGTH), "")
    if not data.consent:
        errors.add("consent", "请阅读并同意承诺书 / please read and accept the declaration")
    errors.raise_any()
    return old_vin


Upload = tuple[str, str, bytes]  # (document kind, filename, content)


def submit_car_application(
    uow: UnitOfWork, *, sale: SaleView, person_id: int, data: CarApplicationInput, versions: tuple[RuleVersion, ...],
    actor: str, uploads: list[Upload] | None = None,
) -> Submitted:
    """Accept a car application; 409 when its certificate, new car or quota is already taken."""
    old_vin = _validate(data)
    certificate_id = None
    if data.programme == "car_scrap":
        certificate_id = certificates.find_certificate(uow, dismantler_org_id=None,
                                                       number=(data.certificate_number or "").strip())
        if certificate_id is None:
            raise ValidationFailed.field("certificate_number", "未找到该报废机动车回收证明 / no scrap certificate "
                                                               "with this number", reason="certificate.not_found")
    version = select_version(versions, data.programme, "passenger_car", sale.invoice_date)
    if version is None:
        raise ValidationFailed.field("programme", f"购车日期 {sale.invoice_date} 不在补贴政策期内 / no rule "
                                                  f"version covers a purchase on {sale.invoice_date}",
                                     reason="rules.no_version")
    card_id = persons.add_bank_card(uow, actor=actor, person_id=person_id, card_number=data.bank_card_number,
                                    bank_name=data.bank_name)
    person_hash = persons.person_id_hash(uow, person_id=person_id)
    evidence = gathering.gather(uow, certificate_id=certificate_id, old_vin=old_vin)
    facts = gathering.build_facts(programme=data.programme, sale=sale, evidence=evidence, person_hash=person_hash,
                                  applied_on=business_date())
    decision = evaluate(version, facts)
    opened = open_application(uow, kind=CAR, actor=actor, opening=Opening(
        programme=data.programme, category="passenger_car", county_code=data.county_code, amount=decision.amount,
        facts=gathering.facts_to_json(facts), version_code=version.code, person_id=person_id, bank_card_id=card_id,
        dealer_org_id=sale.dealer_org_id, sale_id=sale.id, new_vin=sale.new_vin,
        old_vin=old_vin or (evidence.certificate.vin if evidence.certificate else None),
        certificate_id=certificate_id, quota=decision.quota))
    for kind, filename, content in uploads or []:
        store_document(uow, actor=actor, kind=kind, filename=filename, data=content,
                       owner_ref=f"application:{opened.number}")
    return opened


def resubmit(uow: UnitOfWork, *, application_id: int, person_id: int, actor: str) -> None:
    """The resident corrected what was asked and sends the application back for checks."""
    app = load_for_update(uow, application_id)
    if app.person_id != person_id:
        raise Forbidden("只能补正本人的申请 / you may only correct your own application")
    transition(uow, app=app, action=Action.RESUBMIT, actor=actor)
    uow.enqueue(CHECK_JOB, application_id=app.id)


def withdraw(uow: UnitOfWork, *, application_id: int, person_id: int, actor: str) -> None:
    """The resident withdraws their application; quota and certificate go back."""
    app = load_for_update(uow, application_id)
    if app.person_id != person_id:
        raise Forbidden("只能撤回本人的申请 / you may only withdraw your own application")
    transition(uow, app=app, action=Action.WITHDRAW, actor=actor, reason="申请人撤回 / withdrawn by the applicant")

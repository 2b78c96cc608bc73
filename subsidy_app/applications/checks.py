"""Automatic checks, run as a job after submission: every rule condition plus the evidence, each stored."""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from recycling import certificates
from recycling.issuing import STATE_LABELS
from subsidy_app.applications import facts as gathering
from subsidy_app.applications.domain import Action, CheckResult, State, needs_second_review
from subsidy_app.applications.models import Application, ApplicationCheck
from subsidy_app.applications.sales import get_sale
from subsidy_app.applications.services import check_row, load_for_update, transition
from subsidy_app.core.clock import business_date
from subsidy_app.core.db import insert_rows, utcnow
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import organisations, persons
from subsidy_app.rules.evaluator import evaluate
from subsidy_app.rules.ruleset import RuleVersion

SYSTEM = "system:checks"
FUNDING_STATES = ("paid", "approved", "in_payment", "awaiting_funds")


def _c(code: str, passed: bool, zh: str, en: str) -> CheckResult:
    return CheckResult(code, passed, zh, en)


def certificate_checks(cert: certificates.CertificateFacts | None, person_hash: str, app: Application
                       ) -> list[CheckResult]:
    """The scrap certificate exists, came from a dismantler licensed that day, is unused and names the applicant."""
    if cert is None:
        return [_c("certificate.exists", False, "未找到报废机动车回收证明", "scrap certificate not found")]
    return [
        _c("certificate.exists", True, f"回收证明 {cert.number} 存在", f"certificate {cert.number} exists"),
        _c("certificate.licensed", cert.licence_valid_on_issue,
           "出具企业在出具日具备拆解资质" if cert.licence_valid_on_issue else "出具企业在出具日无有效拆解资质",
           "issued by a dismantler licensed on that date" if cert.licence_valid_on_issue
           else "the dismantler was not licensed on the issue date"),
        _c("certificate.unused", cert.state == "issued" or (cert.state == "used" and cert.used_by_ref == app.number),
           f"回收证明状态:{STATE_LABELS.get(cert.state, cert.state)}", f"certificate state: {cert.state}"),
        _c("certificate.names_applicant", cert.owner_id_hash == person_hash,
           "回收证明车主与申请人一致" if cert.owner_id_hash == person_hash else "回收证明车主不是申请人",
           "the certificate names the applicant" if cert.owner_id_hash == person_hash
           else "the certificate names someone else"),
    ]


def registry_checks(evidence: gathering.Evidence, person_hash: str, programme: str) -> list[CheckResult]:
    """The old car is registered, deregistered (scrap) or transferred out (replacement), and was the applicant's."""
    record = evidence.old_vehicle
    if record is None:
        return [_c("registry.found", False, "车辆登记信息中未找到旧车", "old car not found in the vehicle registry")]
    out = [_c("registry.found", True, f"旧车 {record.vin} 有登记记录", f"old car {record.vin} is registered")]
    if programme == "car_scrap":
        cert = evidence.certificate
        ok = record.deregistered_on is not None and (cert is None or record.vin == cert.vin)
        out.append(_c("registry.deregistered", ok,
                      f"旧车已于 {record.deregistered_on} 注销" if ok else "旧车未注销或车架号与回收证明不符",
                      f"deregistered on {record.deregistered_on}" if ok
                      else "not deregistered, or the VIN differs from the certificate's"))
    else:
        ok = record.transferred_out_on is not None
        out.append(_c("registry.transferred_out", ok,
                      f"旧车已于 {record.transferred_out_on} 转出" if ok else "旧车尚未办理转移登记",
                      f"transferred out on {record.transferred_out_on}" if ok else "not transferred out"))
    owner_ok = record.owner_id_hash == person_hash
    out.append(_c("registry.owner_is_applicant", owner_ok,
                  "旧车登记所有人为申请人" if owner_ok else "旧车登记所有人不是申请人",
                  "the old car was registered to the applicant" if owner_ok
                  else "the old car was registered to someone else"))
    return out


def run_checks(uow: UnitOfWork, *, application_id: int, versions: tuple[RuleVersion, ...]) -> list[CheckResult]:
    """Run every check for an application (after submission or resubmission) and move it to review."""
    app = load_for_update(uow, application_id)
    return _check_one(uow, app, versions)


def run_checks_batch(uow: UnitOfWork, *, application_ids: list[int], versions: tuple[RuleVersion, ...]) -> int:
    """Check many applications in one transaction: rows are loaded in bulk, each goes through the same path."""
    apps = list(uow.session.scalars(select(Application).where(Application.id.in_(application_ids))
                                    .order_by(Application.id).with_for_update()))
    # Warm the identity map so the per-application path below finds its rows without a query each.
    keep = preload(uow, apps)  # the identity map holds rows weakly: keep them referenced while we work
    uow.context["funded_vins"] = _funded_vins(uow, {a.new_vin for a in apps if a.new_vin})
    rows: list[dict[str, object]] = []
    uow.context["check_rows"] = rows
    try:
        # One flush at the end: the per-application writes go to the database as multi-row INSERTs.
        with uow.session.no_autoflush:
            done = sum(1 for app in apps if _check_one(uow, app, versions))
        insert_rows(uow.session, ApplicationCheck, rows)  # ~20 rows per application: COPY on PostgreSQL
        uow.flush()
        return done
    finally:
        uow.context.pop("funded_vins", None)
        uow.context.pop("check_rows", None)
        keep.clear()


def preload(uow: UnitOfWork, apps: list[Application]) -> list[object]:
    """Load the sales, dealers, persons, certificates and registry records of many applications at once."""
    from subsidy_app.applications.models import CarSale

    session = uow.session
    keep: list[object] = []
    sale_ids = {a.sale_id for a in apps if a.sale_id}
    sales_rows = list(session.scalars(select(CarSale).where(CarSale.id.in_(sale_ids)))) if sale_ids else []
    keep.extend(sales_rows)
    keep.extend(organisations.preload(uow, organisation_ids={s.dealer_org_id for s in sales_rows}))
    keep.extend(persons.preload(uow, person_ids=[a.person_id for a in apps], card_ids=[]))
    keep.extend(certificates.preload(uow, certificate_ids=[a.certificate_id for a in apps if a.certificate_id]))
    gathering.preload_registry(uow, vins=[a.old_vin for a in apps if a.old_vin])
    return keep


def _check_one(uow: UnitOfWork, app: Application, versions: tuple[RuleVersion, ...]) -> list[CheckResult]:
    if app.state not in (State.SUBMITTED, State.RESUBMITTED):
        return []  # a duplicate delivery of the job after the checks already ran
    first_run = app.state == State.SUBMITTED  # submitted happens once; a resubmission has earlier runs
    transition(uow, app=app, action=Action.START_CHECKS, actor=SYSTEM)
    if app.appliance_sale_id is not None:
        # An appliance claim is checked when it is made (appliances.claims); corrected, it goes back to review.
        transition(uow, app=app, action=Action.CHECKS_DONE, actor=SYSTEM)
        return []
    sale = get_sale(uow, sale_id=app.sale_id) if app.sale_id else None
    assert sale is not None
    person_hash = persons.person_id_hash(uow, person_id=app.person_id)
    evidence = gathering.gather(uow, certificate_id=app.certificate_id, old_vin=app.old_vin)
    facts = gathering.build_facts(programme=app.programme, sale=sale, evidence=evidence, person_hash=person_hash,
                                  applied_on=business_date(app.submitted_at))
    version = next(v for v in versions if v.code == app.version_code)  # always the version decided under
    decision = evaluate(version, facts)
    results = [_c(f"rule.{c.clause}", c.passed, c.explanation_zh, c.explanation_en) for c in decision.conditions]
    if app.programme == "car_scrap":
        results += certificate_checks(evidence.certificate, person_hash, app)
    results += registry_checks(evidence, person_hash, app.programme)
    buyer_ok = sale.buyer_id_hash == person_hash
    results.append(_c("invoice.buyer_is_applicant", buyer_ok,
                      "购车发票购买方为申请人" if buyer_ok else "购车发票购买方不是申请人",
                      "the invoice's buyer is the applicant" if buyer_ok else "the invoice's buyer is someone else"))
    results.append(_new_vin_check(uow, app))
    results.append(card_check(uow, card_id=app.bank_card_id))
    run = 1 if first_run else int(uow.session.scalar(select(func.coalesce(func.max(ApplicationCheck.run), 0))
                                                     .where(ApplicationCheck.application_id == app.id)) or 0) + 1
    rows = [{"application_id": app.id, "run": run, "code": r.code, "passed": r.passed, "checked_at": utcnow(),
             "explanation_zh": r.explanation_zh[:500], "explanation_en": r.explanation_en[:500]} for r in results]
    batch: list[dict[str, object]] | None = uow.context.get("check_rows")
    if batch is not None:
        batch.extend(rows)  # written together at the end of the batch
    else:
        uow.session.execute(insert(ApplicationCheck), rows)
    app.amount = decision.amount
    app.needs_second_review = needs_second_review(results, overridden=False)
    transition(uow, app=app, action=Action.CHECKS_DONE, actor=SYSTEM)
    return results


def card_check(uow: UnitOfWork, *, card_id: int | None) -> CheckResult:
    """The payee card is the applicant's own: no other person registered the same card number."""
    shared = persons.others_with_card(uow, card_id=card_id) if card_id is not None else 0
    return _c("bank_card.own", shared == 0, "收款银行卡未被他人使用" if not shared else
              f"该银行卡号另有 {shared} 人登记使用,请核实是否为申请人本人的银行卡",
              "no one else uses the payee card" if not shared else
              f"{shared} other person(s) registered the same card number: check it is the applicant's own")


def _funded_vins(uow: UnitOfWork, vins: set[str]) -> set[tuple[str, int]]:
    rows = uow.session.execute(select(Application.new_vin, Application.id).where(
        Application.new_vin.in_(vins), Application.state.in_(FUNDING_STATES))).all()
    return {(str(v), int(i)) for v, i in rows}


def _new_vin_check(uow: UnitOfWork, app: Application) -> CheckResult:
    funded: set[tuple[str, int]] | None = uow.context.get("funded_vins")
    if funded is None:
        funded = _funded_vins(uow, {app.new_vin or ""})
    ok = not any(vin == app.new_vin and other != app.id for vin, other in funded)
    return _c("new_vin.unfunded", ok, "新车未享受过其他补贴" if ok else "该新车已获得过补贴",
              "the new car has funded nothing else" if ok else "the new car already funded a subsidy")


def latest_checks(uow: UnitOfWork, *, application_id: int) -> list[ApplicationCheck]:
    """Return the checks of the latest run."""
    run = uow.session.scalar(select(func.max(ApplicationCheck.run)).where(
        ApplicationCheck.application_id == application_id))
    if run is None:
        return []
    return list(uow.session.scalars(select(ApplicationCheck).where(
        ApplicationCheck.application_id == application_id, ApplicationCheck.run == run).order_by(
        ApplicationCheck.id)))


def note_late_checks(session: Session, *, application_id: int, checks: list[CheckResult]) -> bool:
    """Put checks that failed after an application was opened before its reviewers, if it is still undecided.

    The application then needs a second reviewer; each check joins the latest run (the one reviewers and the
    queue read), or refreshes the explanation of the one with its code. A decided application is left alone.
    Return whether it was told. Runs in the caller's own session (a transaction of its own, beside the request's).
    """
    app = session.scalar(select(Application).where(Application.id == application_id).with_for_update())
    if app is None or app.state not in (State.PENDING_REVIEW.value, State.PENDING_SECOND_REVIEW.value):
        return False
    app.needs_second_review = True
    run = session.scalar(select(func.coalesce(func.max(ApplicationCheck.run), 1)).where(
        ApplicationCheck.application_id == app.id)) or 1
    for check in checks:
        fresh = check_row(app.id, run, check)
        known = session.scalar(select(ApplicationCheck).where(
            ApplicationCheck.application_id == app.id, ApplicationCheck.run == run,
            ApplicationCheck.code == fresh.code))
        if known is None:
            session.add(fresh)
        else:
            known.explanation_zh, known.explanation_en = fresh.explanation_zh, fresh.explanation_en
    return True

"""Scrap certificates: issuing rules, the vehicle recovery record, consume/release, revocation, verification."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from recycling import certificates, issuing
from recycling.intake import live_intake_for_certificate
from recycling.models import ScrapCertificate
from recycling.rollups import stored
from recycling.stock import stock_of
from subsidy_app.audit.models import AuditEvent
from subsidy_app.core.errors import Conflict, ValidationFailed
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.qr import read_printed
from subsidy_app.core.uow import UnitOfWork
from tests.recycling_support import ACTOR, OWNER_ID, CertificateDraftFactory, build_network

SECRET = "test-secret-key-0123456789abcdef0123456789"


@pytest.fixture
def network(uow: UnitOfWork, demo: dict[str, int]):
    return build_network(uow, demo)


def issue(uow: UnitOfWork, network, **fields) -> int:
    return issuing.issue_certificate(uow, actor=ACTOR, dismantler_org_id=network.org_id,
                                     draft=CertificateDraftFactory(**fields))


def test_issuing_records_the_vehicle_as_recovered(uow: UnitOfWork, network) -> None:
    certificate_id = issue(uow, network, curb_weight_kg=Decimal("1500.000"))
    intake = live_intake_for_certificate(uow, certificate_id)
    assert intake is not None and intake.units == 1 and intake.weight_kg == Decimal("1500.000")
    assert stock_of(uow, site_id=network.drop_off, category="vehicle.passenger").units == 1
    assert sum(c.units for (_county, category, _d), c in stored(uow).items() if category == "vehicle.passenger") == 1


def test_owner_id_is_stored_encrypted_hashed_and_masked(uow: UnitOfWork, network, cipher: PersonalDataCipher
                                                        ) -> None:
    row = uow.session.get(ScrapCertificate, issue(uow, network))
    assert OWNER_ID.encode() not in row.owner_id_enc
    assert row.owner_id_masked == "1101**********002X"
    facts = certificates.certificate_facts(uow, certificate_id=row.id)
    assert facts.owner_id_hash == cipher.match_hash(OWNER_ID)
    assert facts.state == "issued" and facts.licence_valid_on_issue is True


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("vin", "LTA1278U45X132040", "identifier.vin.check_digit"),
    ("owner_id_number", "110105194912310021", "identifier.resident_id.check_digit"),
])
def test_bad_vin_or_owner_id_is_refused_naming_the_field(uow: UnitOfWork, network, field: str, value: str,
                                                         reason: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        issue(uow, network, **{field: value})
    assert caught.value.reason == reason
    assert field in caught.value.errors


def test_number_is_unique_per_dismantler(uow: UnitOfWork, network) -> None:
    issue(uow, network, number="DUP-1")
    with pytest.raises(Conflict) as caught:
        issue(uow, network, number="DUP-1")
    assert caught.value.reason == "certificate.duplicate"


def test_expired_licence_cannot_issue(uow: UnitOfWork, demo: dict[str, int]) -> None:
    network = build_network(uow, demo, licence_to=dt.date(2021, 12, 31))
    with pytest.raises(Conflict) as caught:
        issue(uow, network)
    assert caught.value.reason == "certificate.licence_invalid"


def test_consume_then_release_then_consume_again(uow: UnitOfWork, network) -> None:
    certificate_id = issue(uow, network)
    certificates.consume_certificate(uow, certificate_id=certificate_id, application_ref="APP-1")
    with pytest.raises(Conflict) as caught:
        certificates.consume_certificate(uow, certificate_id=certificate_id, application_ref="APP-2")
    assert caught.value.reason == "certificate.already_used"
    certificates.release_certificate(uow, certificate_id=certificate_id, application_ref="APP-1")
    certificates.release_certificate(uow, certificate_id=certificate_id, application_ref="APP-1")  # idempotent
    certificates.consume_certificate(uow, certificate_id=certificate_id, application_ref="APP-2")
    assert certificates.certificate_facts(uow, certificate_id=certificate_id).used_by_ref == "APP-2"


def test_find_certificate_by_number(uow: UnitOfWork, network) -> None:
    certificate_id = issue(uow, network, number="FIND-1")
    assert certificates.find_certificate(uow, dismantler_org_id=network.org_id, number="FIND-1") == certificate_id
    assert certificates.find_certificate(uow, dismantler_org_id=None, number="FIND-1") == certificate_id
    assert certificates.find_certificate(uow, dismantler_org_id=network.org_id, number="NOPE") is None


def test_revoke_only_while_unused_and_it_reverses_the_vehicle_intake(uow: UnitOfWork, network) -> None:
    used = issue(uow, network)
    certificates.consume_certificate(uow, certificate_id=used, application_ref="APP-9")
    with pytest.raises(Conflict):
        issuing.revoke_certificate(uow, actor=ACTOR, dismantler_org_id=network.org_id, certificate_id=used,
                                   reason="录入错误")
    unused = issue(uow, network)
    issuing.revoke_certificate(uow, actor=ACTOR, dismantler_org_id=network.org_id, certificate_id=unused,
                               reason="录入错误")
    assert certificates.certificate_facts(uow, certificate_id=unused).state == "revoked"
    assert live_intake_for_certificate(uow, unused) is None
    with pytest.raises(Conflict) as caught:
        certificates.consume_certificate(uow, certificate_id=unused, application_ref="APP-10")
    assert caught.value.reason == "certificate.revoked"


def test_public_verification_shows_state_and_masked_details_only(uow: UnitOfWork, network) -> None:
    certificate_id = issue(uow, network, vin="LTA1278U35X132040")
    token = issuing.verification_token(uow, certificate_id=certificate_id, secret_key=SECRET)
    assert set(read_printed(SECRET, issuing.QR_PURPOSE, token)) == {"k"}  # a random key, never the row id
    public = issuing.verify_public(uow, token=token, secret_key=SECRET)
    assert public.vin_masked == "LTA1*********2040"
    assert public.owner_id_masked == "1101**********002X"
    assert public.state == "issued"
    with pytest.raises(ValidationFailed) as caught:
        issuing.verify_public(uow, token=token + "x", secret_key=SECRET)
    assert caught.value.reason == "qr.invalid"


def test_a_hundred_concurrent_consumes_let_exactly_one_win(
        postgres: None, committed: sessionmaker[Session], committed_uow: UnitOfWork, cipher: PersonalDataCipher
) -> None:
    from subsidy_app.seed import seed_demo

    demo = seed_demo(committed_uow)
    network = build_network(committed_uow, demo)
    certificate_id = issue(committed_uow, network)
    committed_uow.commit()
    barrier = threading.Barrier(100)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        with UnitOfWork(committed, cipher=cipher) as tx:
            barrier.wait()
            try:
                certificates.consume_certificate(tx, certificate_id=certificate_id, application_ref=f"APP-{i}")
                tx.commit()
                result = "won"
            except Conflict as exc:
                result = exc.reason
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("won") == 1
    assert outcomes.count("certificate.already_used") == 99
    with committed() as session:
        assert session.scalar(select(ScrapCertificate.state).where(ScrapCertificate.id == certificate_id)) == "used"
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "certificate.used")) == 1

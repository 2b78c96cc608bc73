"""Persons in batches: a bulk file's buyers looked up in one query, the new ones registered in one INSERT."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update

from subsidy_app.audit import services as audit
from subsidy_app.core.db import in_values, insert_rows, utcnow
from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.personal_data import mask_name, mask_phone, mask_resident_id
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.models import Person


@dataclass(frozen=True)
class PersonEntry:
    """A person a batch names, normalised as `persons.register_person` checks them (phone "" when none given)."""

    id_number: str
    name: str
    phone: str
    birth_date: dt.date


class PersonBatch:
    """The persons one transaction's batch names, as `persons.register_person` would find or register each.

    Made with every entry, it reads the known persons in one query. `check` then takes the entries in order:
    it refuses a name that does not match the ID number (the record's, or for a new person the first name the
    batch gave), and accepts a known person's new phone as the till does. `register` returns the person of each
    entry kept, inserting the new ones in one statement; one a till registered meanwhile is taken as it is.
    `settle` then keeps only what the rows that stay need (issue 16 §4): a row refused after its buyer was
    registered (for quota or budget) leaves no person and changes no phone; the rest is written and audited.
    """

    def __init__(self, uow: UnitOfWork, *, actor: str, entries: list[PersonEntry]) -> None:
        self._uow, self._actor = uow, actor
        cipher = uow.cipher
        self._digests = {e.id_number: cipher.match_hash(e.id_number) for e in entries}
        found = uow.session.execute(select(Person.id, Person.id_number_hash, Person.name_enc, Person.phone_hash)
                                    .where(in_values(uow.session, Person.id_number_hash,
                                                     set(self._digests.values())))).all()
        self._ids = {p.id_number_hash: p.id for p in found}
        self._names = {p.id_number_hash: cipher.decrypt(p.name_enc) for p in found}
        self._phones: dict[str, str | None] = {p.id_number_hash: p.phone_hash for p in found}
        self._new_phones: dict[int, dict[str, Any]] = {}  # person id → new phone columns, written by `settle`
        self._created: set[int] = set()  # persons this batch's INSERT registered, not yet settled

    def check(self, entry: PersonEntry) -> ValidationFailed | None:
        """Accept an entry, or say why not (422 person.name_mismatch naming `name`)."""
        digest = self._digests[entry.id_number]
        if self._names.setdefault(digest, entry.name) != entry.name:
            return ValidationFailed.field("name", "姓名与身份证号不符 / name does not match the ID number",
                                          reason="person.name_mismatch")
        person_id = self._ids.get(digest)
        new_phone = self._uow.cipher.match_hash(entry.phone) if entry.phone else None
        if person_id is not None and new_phone and self._phones[digest] != new_phone:
            self._phones[digest] = new_phone  # a known person with a new phone, as register_person records it
            self._new_phones[person_id] = {"id": person_id, "phone_hash": new_phone,
                                           "phone_enc": self._uow.cipher.encrypt(entry.phone),
                                           "phone_masked": mask_phone(entry.phone)}
        return None

    def register(self, entries: list[PersonEntry]) -> list[int]:
        """Return each entry's person id, registering those seen for the first time in one INSERT."""
        session, cipher = self._uow.session, self._uow.cipher
        fresh: dict[str, dict[str, Any]] = {}
        for entry in entries:
            digest = self._digests[entry.id_number]
            if digest not in self._ids and digest not in fresh:
                phone = entry.phone or None
                fresh[digest] = dict(
                    id_number_hash=digest, id_number_enc=cipher.encrypt(entry.id_number),
                    id_number_masked=mask_resident_id(entry.id_number), name_enc=cipher.encrypt(entry.name),
                    name_masked=mask_name(entry.name), phone_hash=cipher.match_hash(phone) if phone else None,
                    phone_enc=cipher.encrypt(phone) if phone else None,
                    phone_masked=mask_phone(phone) if phone else None, birth_date=entry.birth_date,
                    created_at=utcnow())
        if fresh:
            inserted = {r["id_number_hash"]: r["id"] for r in insert_rows(
                session, Person, list(fresh.values()), ignore_conflicts=True, returning=("id", "id_number_hash"))}
            self._ids.update(inserted)
            self._created.update(inserted.values())
            raced = [d for d in fresh if d not in self._ids]  # registered by a till since our read: take theirs
            if raced:
                self._ids.update({p.id_number_hash: p.id for p in session.execute(
                    select(Person.id, Person.id_number_hash).where(Person.id_number_hash.in_(raced)))})
        return [self._ids[self._digests[entry.id_number]] for entry in entries]

    @property
    def created(self) -> frozenset[int]:
        """The persons this batch registered and has not settled yet (rows of other tables may point at them)."""
        return frozenset(self._created)

    def settle(self, *, kept: set[int]) -> None:
        """Keep the registrations and phone changes of the persons the rows that stay name; drop the others.

        A person this batch registered that no kept row names is deleted again (the caller first removes what
        it wrote for them), as the till's rolled-back sale leaves nothing; each kept change is audited."""
        session = self._uow.session
        dropped = sorted(self._created - kept)
        if dropped:
            session.execute(delete(Person).where(Person.id.in_(dropped)))
            self._ids = {d: i for d, i in self._ids.items() if i not in set(dropped)}
        phones = [v for person_id, v in self._new_phones.items() if person_id in kept]
        if phones:
            session.execute(update(Person), phones)  # by primary key, one statement
            for change in phones:
                audit.record(self._uow, actor=self._actor, action="person.phone_changed", entity_type="person",
                             entity_id=change["id"], after={"phone": change["phone_masked"]})
        registered = sorted(self._created & kept)
        if registered:
            audit.record(self._uow, actor=self._actor, action="person.registered", entity_type="person",
                         entity_id=registered[0], after={"bulk_count": len(registered)})
        self._created, self._new_phones = set(), {}

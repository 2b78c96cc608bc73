"""Spot-check sampling maths: stratum sizes, the same seed draws the same sample, flagged items always drawn."""

from __future__ import annotations

from decimal import Decimal

import pytest

from subsidy_app.oversight.spot_domain import (
    Candidate,
    ItemState,
    Reason,
    SubjectKind,
    callback_outcome,
    draw,
    may_conclude,
    stratum_size,
)


def _population(per_stratum: dict[tuple[str, int | None], int], flagged: dict[int, Reason] | None = None
                ) -> list[Candidate]:
    found, next_id = [], 1
    for (county, dealer), count in per_stratum.items():
        for _ in range(count):
            kind = SubjectKind.SALE if next_id % 2 else SubjectKind.APPLICATION
            found.append(Candidate(kind, next_id, county, dealer, (flagged or {}).get(next_id)))
            next_id += 1
    return found


@pytest.mark.parametrize(("population", "rate", "expected"), [
    (100, "5", 5), (10, "5", 1), (30, "5", 2), (50, "5", 3), (49, "5", 2), (1, "5", 1), (0, "5", 0),
    (7, "0.01", 1), (20, "12.5", 3), (4, "100", 4), (3, "50", 2),
])
def test_each_stratum_draws_the_rate_rounded_half_up_and_at_least_one(population: int, rate: str,
                                                                      expected: int) -> None:
    assert stratum_size(population, Decimal(rate)) == expected


def test_the_sample_is_stratified_by_county_and_dealer() -> None:
    people = _population({("141102", 1): 100, ("141102", 2): 10, ("141181", 1): 40, ("141181", None): 3})
    sample = draw(people, rate_percent=Decimal("5"), seed="s1")
    drawn = {(s.county_code, s.dealer_org_id): s.drawn for s in sample.strata}
    assert drawn == {("141102", 1): 5, ("141102", 2): 1, ("141181", 1): 2, ("141181", None): 1}
    by_stratum: dict[tuple[str, int | None], int] = {}
    for item in sample.items:
        key = (item.candidate.county_code, item.candidate.dealer_org_id)
        by_stratum[key] = by_stratum.get(key, 0) + 1
    assert by_stratum == drawn and sample.population == 153
    assert all(item.reason is Reason.RANDOM for item in sample.items)


def test_the_same_seed_draws_the_same_sample_whatever_order_the_population_comes_in() -> None:
    people = _population({("141102", 1): 200, ("141181", 2): 80})
    first = draw(people, rate_percent=Decimal("5"), seed="公开种子-2025")
    again = draw(list(reversed(people)), rate_percent=Decimal("5"), seed="公开种子-2025")
    assert [d.candidate.key for d in first.items] == [d.candidate.key for d in again.items]
    assert len(first.items) == 10 + 4


def test_a_different_seed_draws_a_different_sample() -> None:
    people = _population({("141102", 1): 200})
    samples = {tuple(d.candidate.key for d in draw(people, rate_percent=Decimal("5"), seed=f"seed-{n}").items)
               for n in range(5)}
    assert len(samples) == 5


def test_every_flagged_item_is_drawn_with_its_reason_besides_the_random_ones() -> None:
    people = _population({("141102", 1): 100}, flagged={3: Reason.FRAUD_SIGNAL, 50: Reason.OVERRIDDEN,
                                                        99: Reason.FRAUD_SIGNAL})
    sample = draw(people, rate_percent=Decimal("1"), seed="x")
    reasons = {d.candidate.subject_id: d.reason for d in sample.items}
    assert {i: reasons.get(i) for i in (3, 50, 99)} == {3: Reason.FRAUD_SIGNAL, 50: Reason.OVERRIDDEN,
                                                         99: Reason.FRAUD_SIGNAL}
    assert sum(r is Reason.RANDOM for r in reasons.values()) <= 1  # 1 % of 100, unless chance drew a flagged one
    assert len(reasons) in (3, 4)


def test_a_flagged_item_drawn_at_random_is_drawn_once_under_its_flag() -> None:
    people = _population({("141102", 1): 3}, flagged={1: Reason.FRAUD_SIGNAL, 2: Reason.OVERRIDDEN})
    sample = draw(people, rate_percent=Decimal("100"), seed="x")
    assert [(d.candidate.subject_id, d.reason) for d in sample.items] == [
        (2, Reason.OVERRIDDEN), (1, Reason.FRAUD_SIGNAL), (3, Reason.RANDOM)]


def test_an_empty_population_draws_nothing() -> None:
    sample = draw([], rate_percent=Decimal("5"), seed="x")
    assert (sample.items, sample.strata, sample.population) == ([], [], 0)


def test_a_call_back_is_unreachable_only_after_the_allowed_unanswered_calls() -> None:
    assert [callback_outcome(n, 3) for n in (1, 2, 3)] == [None, None, "unreachable"]


def test_an_item_is_genuine_only_with_a_fine_result_and_no_bad_one_and_false_only_with_a_bad_one() -> None:
    assert may_conclude(ItemState.GENUINE, ["confirmed"]) is None
    assert may_conclude(ItemState.GENUINE, ["unreachable", "consistent"]) is None
    assert may_conclude(ItemState.GENUINE, ["unreachable"]) is not None
    assert may_conclude(ItemState.GENUINE, []) is not None
    assert may_conclude(ItemState.GENUINE, ["confirmed", "not_found"]) is not None
    assert may_conclude(ItemState.FALSE, ["confirmed"]) is not None
    assert may_conclude(ItemState.FALSE, ["denies_purchase"]) is None
    assert may_conclude(ItemState.FALSE, ["consistent", "inconsistent"]) is None

"""Spot checks (抽查核验), pure: stratified reproducible sampling, task outcomes and what an item may conclude."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class PlanState(StrEnum):
    """Where a sampling plan stands."""

    DRAFT = "draft"
    DRAWN = "drawn"
    CLOSED = "closed"  # every item concluded


class SubjectKind(StrEnum):
    """What a sampled item is: a resident's application, or an instant-discount sale funded at the till."""

    APPLICATION = "application"
    SALE = "sale"


class Reason(StrEnum):
    """Why an item is in the sample."""

    RANDOM = "random"
    FRAUD_SIGNAL = "fraud_signal"
    OVERRIDDEN = "overridden"


class ItemState(StrEnum):
    """Where a sampled item stands."""

    OPEN = "open"
    GENUINE = "genuine"
    FALSE = "false"


class TaskKind(StrEnum):
    """The checks each sampled item gets."""

    CALLBACK = "callback"  # 电话回访
    DOCUMENTS = "documents"  # 资料复核
    SITE_VISIT = "site_visit"  # 实地核查(旧品)


# What may be recorded on each kind of task; "no_answer" is one unanswered call, not a final outcome.
OUTCOMES: dict[TaskKind, tuple[str, ...]] = {
    TaskKind.CALLBACK: ("confirmed", "no_answer", "denies_purchase", "other"),
    TaskKind.DOCUMENTS: ("consistent", "inconsistent"),
    TaskKind.SITE_VISIT: ("found", "not_found"),
}
NO_ANSWER = "no_answer"
UNREACHABLE = "unreachable"  # a call-back's outcome after the configured number of unanswered calls
FINE = frozenset({"confirmed", "consistent", "found", "other"})
BAD = frozenset({"denies_purchase", "inconsistent", "not_found"})

PLAN_STATE_ZH = {PlanState.DRAFT: "草稿", PlanState.DRAWN: "已抽样", PlanState.CLOSED: "已完成"}
ITEM_STATE_ZH = {ItemState.OPEN: "核查中", ItemState.GENUINE: "属实", ItemState.FALSE: "不属实"}
REASON_ZH = {Reason.RANDOM: "随机抽取", Reason.FRAUD_SIGNAL: "存在风险信号", Reason.OVERRIDDEN: "核验经人工放行"}
TASK_ZH = {TaskKind.CALLBACK: "电话回访", TaskKind.DOCUMENTS: "资料复核", TaskKind.SITE_VISIT: "实地核查旧品"}
OUTCOME_ZH = {"confirmed": "本人确认购买", "no_answer": "未接通", "unreachable": "多次未接通",
              "denies_purchase": "否认购买", "other": "其他", "consistent": "资料一致", "inconsistent": "资料不一致",
              "found": "旧品核实",
              "not_found": "旧品未找到"}
SUBJECT_ZH = {SubjectKind.APPLICATION: "补贴申请", SubjectKind.SALE: "立减销售"}


@dataclass(frozen=True)
class Candidate:
    """One approved trade-in of the population, with what puts it in the sample regardless of chance."""

    kind: SubjectKind
    subject_id: int
    county_code: str
    dealer_org_id: int | None
    flag: Reason | None = None  # FRAUD_SIGNAL or OVERRIDDEN: always sampled

    @property
    def key(self) -> tuple[str, int]:
        """Return the identity the draw sorts by (kind, then id)."""
        return (self.kind.value, self.subject_id)


@dataclass(frozen=True)
class Stratum:
    """One county and dealer of a draw: its population and how many were drawn at random."""

    county_code: str
    dealer_org_id: int | None
    population: int
    drawn: int


@dataclass(frozen=True)
class Drawn:
    """An item of the sample and why it is in it."""

    candidate: Candidate
    reason: Reason


@dataclass(frozen=True)
class Sample:
    """A whole draw: the items, the strata and the population size."""

    items: list[Drawn]
    strata: list[Stratum]
    population: int


def stratum_size(population: int, rate_percent: Decimal) -> int:
    """Return how many to draw from a stratum: rate × n rounded half up, at least 1 when n and the rate are not 0."""
    if population <= 0 or rate_percent <= 0:
        return 0
    size = int((Decimal(population) * rate_percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return min(population, max(1, size))


def draw(population: Iterable[Candidate], *, rate_percent: Decimal, seed: str) -> Sample:
    """Draw a stratified sample (county × dealer), reproducible from the seed, plus every flagged candidate."""
    strata: dict[tuple[str, int], list[Candidate]] = defaultdict(list)
    everyone = list(population)
    for candidate in everyone:
        strata[(candidate.county_code, candidate.dealer_org_id or 0)].append(candidate)
    rng = random.Random(seed)
    chosen: dict[tuple[str, int], Drawn] = {}
    shown: list[Stratum] = []
    for county, dealer in sorted(strata):
        members = sorted(strata[(county, dealer)], key=lambda c: c.key)  # a fixed order: same seed, same sample
        size = stratum_size(len(members), rate_percent)
        for candidate in rng.sample(members, size):
            # A flagged candidate keeps its flag as its reason even when chance drew it: it was due anyway.
            chosen[candidate.key] = Drawn(candidate, candidate.flag or Reason.RANDOM)
        shown.append(Stratum(county, dealer or None, len(members), size))
    for candidate in sorted(everyone, key=lambda c: c.key):
        if candidate.flag is not None and candidate.key not in chosen:
            chosen[candidate.key] = Drawn(candidate, candidate.flag)
    return Sample(sorted(chosen.values(), key=lambda d: d.candidate.key), shown, len(everyone))


def callback_outcome(no_answers: int, attempts_allowed: int) -> str | None:
    """Return "unreachable" once a call-back went unanswered the allowed number of times, else None."""
    return UNREACHABLE if no_answers >= attempts_allowed else None


def may_conclude(conclusion: ItemState, outcomes: Sequence[str]) -> str | None:
    """Return why an item may not reach a conclusion from its done tasks' outcomes, or None when it may."""
    if conclusion is ItemState.GENUINE:
        if any(o in BAD for o in outcomes):
            return "有核查结果不属实,不能认定属实 / a task found it false: it cannot be concluded genuine"
        if not any(o in FINE for o in outcomes):
            return "尚无确认属实的核查结果 / no task has confirmed it yet"
        return None
    if conclusion is ItemState.FALSE:
        if not any(o in BAD for o in outcomes):
            return "没有不属实的核查结果(否认购买、资料不一致或旧品未找到)/ no task found it false"
        return None
    return "结论应为属实或不属实 / the conclusion must be genuine or false"

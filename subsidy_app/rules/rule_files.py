"""Building a validated RuleVersion from a rule file: its parsed mapping, its YAML text or its path."""

from __future__ import annotations

import os
import re
from pathlib import Path

from subsidy_app.rules.domain import PriceBasis, Programme, ReviewLimit
from subsidy_app.rules.rule_reader import META_KEYS, FieldReader, RuleFileInvalid, load_yaml
from subsidy_app.rules.rule_sections import (
    parse_categories,
    parse_conditions,
    parse_documents,
    parse_exclusions,
    parse_formula,
    parse_limits,
    parse_rounding,
)
from subsidy_app.rules.rule_version import RuleVersion

_WINDOW_FIELDS = ("effective_from", "effective_to", "apply_by", "review")
_VERSION_CODE_RE = re.compile(r"^[a-z][a-z0-9_.\-]*$")
_TOP_KEYS = frozenset(
    {
        "code",
        "series",
        "version",
        "programme",
        "title",
        "effective_from",
        "effective_to",
        "apply_by",
        "unconfirmed_fields",
        "source",
        "categories",
        "price_basis",
        "conditions",
        "amount",
        "rounding",
        "limits",
        "exclusions",
        "documents",
        "review",
    }
)


def parse_rule_mapping(data: object, *, name: str = "<rules>") -> RuleVersion:
    """Build a validated RuleVersion from a parsed mapping (file form); raise RuleFileInvalid."""
    r = FieldReader(name)
    m = r.mapping(data, "", _TOP_KEYS)
    code = r.code(r.req(m, "code", ""), "code", _VERSION_CODE_RE)
    programme = r.choice(r.req(m, "programme", ""), "programme", Programme, [p.value for p in Programme])
    title = r.mapping(r.req(m, "title", ""), "title", ["zh", "en"])
    eff_from = r.day(r.req(m, "effective_from", ""), "effective_from")
    eff_to = r.opt_day(m.get("effective_to"), "effective_to")
    apply_by = r.opt_day(m.get("apply_by"), "apply_by")
    if eff_to is not None and eff_to < eff_from:
        raise r.fail("effective_to", f"{eff_to} is before effective_from {eff_from}")
    if apply_by is not None and apply_by < eff_from:
        raise r.fail("apply_by", f"{apply_by} is before effective_from {eff_from}")
    unconfirmed = [
        r.choice(v, f"unconfirmed_fields[{i}]", str, _WINDOW_FIELDS)
        for i, v in enumerate(r.items(m.get("unconfirmed_fields", []), "unconfirmed_fields"))
    ]
    rounding = parse_rounding(r, m.get("rounding"))
    categories = parse_categories(r, r.req(m, "categories", ""), programme)
    codes = {c.code for c in categories}
    conditions = parse_conditions(r, r.req(m, "conditions", ""), programme)
    version = RuleVersion(
        code=code,
        series=r.code(m.get("series", code), "series", _VERSION_CODE_RE),
        version=r.integer(r.req(m, "version", ""), "version", 1),
        programme=programme,
        title_zh=r.text(r.req(title, "zh", "title"), "title.zh"),
        title_en=r.text(r.req(title, "en", "title"), "title.en"),
        effective_from=eff_from,
        effective_to=eff_to,
        apply_by=apply_by,
        unconfirmed_fields=tuple(unconfirmed),
        source=r.text(r.req(m, "source", ""), "source"),
        categories=categories,
        price_basis=r.choice(
            m.get("price_basis", PriceBasis.INVOICE_TOTAL_INCL_TAX.value),
            "price_basis",
            PriceBasis,
            [p.value for p in PriceBasis],
        ),
        conditions=conditions,
        amount=parse_formula(r, r.req(m, "amount", ""), conditions, rounding.places),
        rounding=rounding,
        limits=parse_limits(r, r.req(m, "limits", ""), codes),
        exclusions=parse_exclusions(r, m.get("exclusions", [])),
        documents=parse_documents(r, r.req(m, "documents", ""), codes),
        review=parse_review(r, m.get("review")),
    )
    return version


# A review limit beyond a year is a typo (days for hours, an extra digit), not a policy.
MAX_REVIEW_DAYS = 366


def parse_review(r: FieldReader, value: object) -> ReviewLimit | None:
    """Parse the review time limit (days after submission); absent means the version states none."""
    if value is None:
        return None
    m = r.mapping(value, "review", {"days", "working_days"} | META_KEYS)
    days = r.integer(r.req(m, "days", "review"), "review.days", 1)
    if days > MAX_REVIEW_DAYS:
        raise r.fail("review.days", f"must be at most {MAX_REVIEW_DAYS}")
    return ReviewLimit(days=days, working_days=r.flag(m.get("working_days", False), "review.working_days"),
                       meta=r.meta(m, "review", source_required=True))


def load_rule_file(source: str | os.PathLike[str], *, name: str | None = None) -> RuleVersion:
    """Load one version from a path, or from YAML text (a str with a newline); raise RuleFileInvalid."""
    if isinstance(source, str) and "\n" not in source and source.endswith((".yaml", ".yml")):
        source = Path(source)
    if isinstance(source, str):
        text, label = source, name or "<text>"
    else:
        path = Path(source)
        label = name or path.name
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RuleFileInvalid(label, "", f"cannot be read: {exc.strerror}") from None
    return parse_rule_mapping(load_yaml(text, label), name=label)

"""Identity rules: roles, organisation kinds, counties and who may see what."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Staff roles."""

    DEALER_CLERK = "dealer_clerk"
    RECYCLER_CLERK = "recycler_clerk"
    AUDITOR = "auditor"
    SENIOR_AUDITOR = "senior_auditor"
    FINANCE_OFFICER = "finance_officer"
    ADMIN = "admin"
    BUREAU_LEADER = "bureau_leader"  # reads the dashboard's figures; decides nothing


ROLE_LABELS_ZH = {
    Role.DEALER_CLERK: "经销商业务员",
    Role.RECYCLER_CLERK: "回收企业业务员",
    Role.AUDITOR: "审核员",
    Role.SENIOR_AUDITOR: "复核员",
    Role.FINANCE_OFFICER: "财务人员",
    Role.ADMIN: "管理员",
    Role.BUREAU_LEADER: "局领导",
}


# Who did something, as a page names an actor label (Principal.actor, or a job's "system:<what>").
_SYSTEM_ACTORS_ZH = {"system:checks": "系统(自动核验)", "system:budget": "系统(资金到位)",
                     "system:appliance-claims": "系统(家电补贴申请)", "system:recycling": "系统(回收)"}


def actor_label(actor: str) -> str:
    """The Chinese name of an actor: 申请人本人, an account's user name, or 系统(…)."""
    kind, _, rest = actor.partition(":")
    if kind == "person":
        return "申请人本人"
    if kind == "account":
        return rest.partition(":")[2] or "工作人员"
    return _SYSTEM_ACTORS_ZH.get(actor, "系统")


class OrgKind(StrEnum):
    """Kinds of organisation an account belongs to."""

    DEALER = "dealer"
    RECYCLER = "recycler"
    BUREAU = "bureau"
    FINANCE = "finance"


# Which roles an organisation kind may hold: a dealer's clerk can never be an auditor.
ROLES_BY_ORG_KIND: dict[OrgKind, frozenset[Role]] = {
    OrgKind.DEALER: frozenset({Role.DEALER_CLERK}),
    OrgKind.RECYCLER: frozenset({Role.RECYCLER_CLERK}),
    OrgKind.BUREAU: frozenset({Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN, Role.BUREAU_LEADER}),
    OrgKind.FINANCE: frozenset({Role.FINANCE_OFFICER, Role.ADMIN}),
}

CITY_CODE = "141100"
CITY_NAME = "吕梁市"

# The 13 county-level areas of Lüliang with their administrative division codes (GB/T 2260).
COUNTIES: dict[str, str] = {
    "141102": "离石区",
    "141181": "孝义市",
    "141182": "汾阳市",
    "141121": "文水县",
    "141122": "交城县",
    "141123": "兴县",
    "141124": "临县",
    "141125": "柳林县",
    "141126": "石楼县",
    "141127": "岚县",
    "141128": "方山县",
    "141129": "中阳县",
    "141130": "交口县",
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a staff account (by session or API token) or a verified resident."""

    kind: str  # "staff" | "resident"
    account_id: int | None = None
    username: str = ""
    organisation_id: int | None = None
    organisation_kind: OrgKind | None = None
    roles: frozenset[Role] = frozenset()
    counties: frozenset[str] = frozenset()
    all_counties: bool = False
    person_id: int | None = None
    via: str = "session"  # "session" | "token"
    must_change_password: bool = False  # a temporary password: the pages admit only the password change

    @property
    def actor(self) -> str:
        """Return the label audit events carry."""
        if self.kind == "resident":
            return f"person:{self.person_id}"
        return f"account:{self.account_id}:{self.username}"

    def has_any(self, roles: frozenset[Role]) -> bool:
        """Tell whether the principal holds one of `roles`."""
        return bool(self.roles & roles)

    def covers_county(self, county_code: str) -> bool:
        """Tell whether the principal's scope includes a county."""
        return self.all_counties or county_code in self.counties

    def covers_organisation(self, organisation_id: int, county_code: str) -> bool:
        """Tell whether the principal may see an organisation's data."""
        if self.organisation_kind in (OrgKind.DEALER, OrgKind.RECYCLER):
            return organisation_id == self.organisation_id
        return self.covers_county(county_code)


ANONYMOUS = Principal(kind="anonymous")

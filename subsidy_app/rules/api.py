"""Rules API: rule versions and their differences, public quotes, budget pools."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import jsonify
from flask.views import MethodView

from subsidy_app.access import access, current_principal, raise_not_in_scope, require_county
from subsidy_app.bodies import Blueprint
from subsidy_app.http import ErrorEnvelope, limiter, load_json, runtime, uow
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import Role
from subsidy_app.rules import budget, budget_proposals, budget_reports, quotas, services
from subsidy_app.rules import schemas as s
from subsidy_app.rules.domain import Decision, Facts
from subsidy_app.rules.ruleset import RuleVersion, current_versions

blp = Blueprint("rules", __name__, url_prefix="/api/v1", description="补贴规则、试算与资金池 / rules, quotes, budgets")
FACTS_IN = s.FactsIn()  # one instance: webargs would otherwise build (and deep-copy) the schema per request
# The bureau leader reads these figures for the dashboard.
BUREAU = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.FINANCE_OFFICER, Role.ADMIN, Role.BUREAU_LEADER)


def _quote_rate_limit() -> str:
    return runtime().settings.quote_rate_limit


def _summary(version: RuleVersion, current: set[str]) -> dict[str, Any]:
    return {"code": version.code, "series": version.series, "version": version.version,
            "programme": str(version.programme), "title_zh": version.title_zh,
            "effective_from": version.effective_from, "effective_to": version.effective_to,
            "apply_by": version.apply_by, "content_hash": version.content_hash, "current": version.code in current}


@blp.route("/rule-versions")
class RuleVersions(MethodView):
    """Published rule versions."""

    @access(public=True)
    @blp.response(200, s.VersionSummaryOut(many=True))
    def get(self) -> Any:
        """List every published version (current = not superseded by a correction)."""
        with uow() as tx:
            versions = services.version_cache().versions(tx)
        current = {v.code for v in current_versions(versions)}
        return [_summary(v, current) for v in versions]


@blp.route("/rule-versions/diff")
class RuleVersionDiff(MethodView):
    """Differences between two versions."""

    @access(public=True)
    @blp.arguments(s.DiffQuery, location="query")
    @blp.response(200, s.DiffOut)
    def get(self, query: dict[str, str]) -> Any:
        """Show every changed field between two versions."""
        with uow() as tx:
            changes = services.diff(services.version_cache(), tx, code_a=query["from_"], code_b=query["to"])
        return {"from_": query["from_"], "to": query["to"], "changes": [asdict(c) for c in changes]}


@blp.route("/rule-versions/<code>")
class RuleVersionItem(MethodView):
    """One rule version."""

    @access(public=True)
    @blp.response(200, s.VersionOut)
    def get(self, code: str) -> Any:
        """Show a version with its full content and sources."""
        with uow() as tx:
            version = services.version_cache().by_code(tx, code)
            current = {v.code for v in current_versions(services.version_cache().versions(tx))}
        return {**_summary(version, current), "content": version.to_dict()}


def _decision_out(decision: Decision) -> dict[str, Any]:
    return {
        "eligible": decision.eligible, "amount": f"{decision.amount:.2f}", "version_code": decision.version_code,
        "version": decision.version, "version_hash": decision.version_hash,
        "amount_explanation_zh": decision.amount_explanation_zh,
        "amount_explanation_en": decision.amount_explanation_en,
        "conditions": [c._asdict() for c in decision.conditions],
        "required_documents": [{"code": d.code, "zh": d.zh, "en": d.en} for d in decision.required_documents],
        "quota": None,
    }


@blp.route("/quotes")
class Quotes(MethodView):
    """Subsidy quotes for possible trade-ins."""

    @access(public=True)
    @limiter.limit(_quote_rate_limit)
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": s.FactsIn}}})
    @blp.response(200, s.QuoteOut)
    @blp.alt_response(422, schema=ErrorEnvelope, description="invalid facts, each field named")
    def post(self) -> Any:
        """Evaluate facts with the version in force; a verified resident also sees their remaining quota."""
        # Parsed here rather than by @blp.arguments: the same schema, without webargs' per-request overhead on
        # the platform's busiest public endpoint (the request body stays documented through @blp.doc).
        data = load_json(FACTS_IN)
        values: dict[str, Any] = {k: (str(v) if hasattr(v, "value") else v) for k, v in data.items()}
        facts = Facts(**values)
        principal = current_principal()
        with uow() as tx:
            decision = services.quote(services.version_cache(), tx, facts=facts)
            out = _decision_out(decision)
            if decision.quota is not None:
                out["quota"] = {"category": decision.quota.category, "period_key": decision.quota.period_key,
                                "max_count": decision.quota.max_count, "used": None, "remaining": None}
                if principal.kind == "resident" and principal.person_id is not None:
                    status = quotas.quota_status(tx, person_id=principal.person_id, key=decision.quota)
                    out["quota"].update(used=status.used, remaining=status.remaining)
        # The hot path of the tills and the public page: the output is already JSON-ready and shaped as
        # QuoteOut documents it, so skip a second marshmallow pass (halves the cost of a quote).
        return jsonify(out)


def _pool_out(figures: budget_reports.PoolFigures) -> dict[str, Any]:
    return asdict(figures)


@blp.route("/budget-pools")
class BudgetPools(MethodView):
    """Budget pools per programme and county."""

    @access(*BUREAU)
    @blp.arguments(s.PoolQuery, location="query")
    @blp.response(200, s.PoolOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """List the pools in the caller's counties with allocated, reserved, spent, remaining and burn rate."""
        principal = current_principal()
        counties = None if principal.all_counties else principal.counties
        programme = query["programme"].value if query["programme"] else None
        with uow() as tx:
            return [_pool_out(budget_reports.pool_figures(tx, pool_id=i))
                    for i in budget_reports.list_pool_ids(tx, counties=counties, programme=programme)]

    @access(Role.ADMIN)
    @blp.arguments(s.PoolIn)
    @blp.response(201, s.PoolOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Open a pool for a programme in a county of the caller's."""
        require_county(current_principal(), data["county_code"])
        with uow() as tx:
            pool_id = budget.create_pool(tx, actor=current_principal().actor, programme=data["programme"].value,
                                         county_code=data["county_code"], name=data["name"])
            tx.commit()
            return _pool_out(budget_reports.pool_figures(tx, pool_id=pool_id))


def _scoped_pool(tx: Any, pool_id: int) -> None:
    """Refuse a pool outside the caller's counties: every pool route by id calls this first."""
    if not current_principal().covers_county(budget_reports.pool_county(tx, pool_id=pool_id)):
        raise_not_in_scope()


@blp.route("/budget-pools/<int:pool_id>")
class BudgetPoolItem(MethodView):
    """One pool."""

    @access(*BUREAU)
    @blp.response(200, s.PoolOut)
    def get(self, pool_id: int) -> Any:
        """Show a pool's figures and burn rate."""
        with uow() as tx:
            _scoped_pool(tx, pool_id)
            return _pool_out(budget_reports.pool_figures(tx, pool_id=pool_id))


# Money moves as the pool page moves it (rules.budget_proposals): one officer proposes, a different one approves.
# There is no single-officer route (the former /allocations and /adjustments moved money on one say-so).
@blp.route("/budget-pools/<int:pool_id>/proposals")
class PoolProposals(MethodView):
    """Proposals to add money to a pool (maker-checker)."""

    @access(*budget_proposals.OFFICERS)
    @blp.arguments(s.ProposalListQuery, location="query")
    @blp.response(200, s.ProposalPage)
    def get(self, query: dict[str, Any], pool_id: int) -> Any:
        """List a pool's proposals, newest first."""
        with uow() as tx:
            _scoped_pool(tx, pool_id)
            page = budget_proposals.proposals(tx, pool_id=pool_id, **query)
            return {"items": page.rows, "total": page.total}

    @access(*budget_proposals.OFFICERS)
    @blp.arguments(s.ProposalIn)
    @blp.response(201, s.ProposalOut)
    def post(self, data: dict[str, Any], pool_id: int) -> Any:
        """Propose a top-up or a reallocation; no money moves until another officer approves it."""
        with uow() as tx:
            made = budget_proposals.propose(tx, principal=current_principal(), pool_id=pool_id, **data)
            tx.commit()
            return made


@blp.route("/budget-proposals/<int:proposal_id>/approval")
class ProposalApproval(MethodView):
    """Another officer's approval, which moves the money once."""

    @access(*budget_proposals.OFFICERS)
    @blp.response(201, s.ApprovalOut)
    def post(self, proposal_id: int) -> Any:
        """Approve a proposal of another officer; waiting approvals are then funded in submission order."""
        with uow() as tx:
            funded = budget_proposals.approve(tx, principal=current_principal(), proposal_id=proposal_id)
            tx.commit()
            return {"proposal": budget_proposals.proposal(tx, proposal_id=proposal_id), "funded": len(funded)}


@blp.route("/budget-proposals/<int:proposal_id>/rejection")
class ProposalRejection(MethodView):
    """Turning a proposal down (or the proposer withdrawing it)."""

    @access(*budget_proposals.OFFICERS)
    @blp.arguments(s.RejectionIn)
    @blp.response(201, s.ProposalOut)
    def post(self, data: dict[str, Any], proposal_id: int) -> Any:
        """Reject a proposal with a reason; no money moves."""
        with uow() as tx:
            budget_proposals.reject(tx, principal=current_principal(), proposal_id=proposal_id, **data)
            tx.commit()
            return budget_proposals.proposal(tx, proposal_id=proposal_id)


@blp.route("/notifications")
class Notifications(MethodView):
    """Notifications for county bureaus."""

    @access(*BUREAU)
    @blp.response(200, s.NotificationOut(many=True))
    def get(self) -> Any:
        """List the newest notifications in the caller's counties."""
        with uow() as tx:
            return identity.list_notifications(tx, principal=current_principal())

"""Recycling API: qualifications, sites, scrap certificates, intakes, bulk files, corrections, transfers."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response, url_for
from flask.views import MethodView

from recycling import imports, intake, issuing, sites, stock
from recycling import schemas as s
from recycling.issuing import CertificateDraft
from subsidy_app.access import access, current_principal, raise_not_in_scope
from subsidy_app.bodies import TABLE_FILE_LIMIT, Blueprint, body_limit
from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.qr import render_png, render_svg
from subsidy_app.http import runtime, uow
from subsidy_app.identity.domain import Role

blp = Blueprint("recycling", __name__, url_prefix="/api/v1/recycling",
                description="回收网点、报废机动车回收证明与回收记录 / sites, scrap certificates, intakes")
STAFF = tuple(Role)
BUREAU = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)
CLERK = Role.RECYCLER_CLERK


def acting_org() -> int | None:
    """Return the recycler a clerk acts for (None for bureau staff)."""
    principal = current_principal()
    return principal.organisation_id if CLERK in principal.roles else None


def verify_url(tx: Any, certificate_id: int) -> str:
    """Return the public verification URL a certificate's QR code carries."""
    settings = runtime().settings
    token = issuing.verification_token(tx, certificate_id=certificate_id, secret_key=settings.secret_key)
    return f"{settings.public_base_url}{url_for('recycling_views.verify_certificate', token=token)}"


@blp.route("/recyclers/<int:organisation_id>/qualifications")
class Qualifications(MethodView):
    """A recycler's licences and filings."""

    @access(*STAFF)
    @blp.response(200, s.QualificationOut(many=True))
    def get(self, organisation_id: int) -> Any:
        """List a recycler's licences."""
        with uow() as tx:
            if not sites.covers_recycler(current_principal(), sites.recycler(tx, organisation_id)):
                raise_not_in_scope()
            return sites.list_qualifications(tx, organisation_id=organisation_id)

    @access(*BUREAU)
    @blp.arguments(s.QualificationIn)
    @blp.response(201, s.RecyclingIdOut)
    def post(self, data: dict[str, Any], organisation_id: int) -> Any:
        """Record a licence or filing (bureau staff, in their counties)."""
        with uow() as tx:
            if not sites.covers_recycler(current_principal(), sites.recycler(tx, organisation_id)):
                raise_not_in_scope()
            new_id = sites.register_qualification(tx, actor=current_principal().actor,
                                                  organisation_id=organisation_id, **data)
            tx.commit()
        return {"id": new_id}


@blp.route("/sites")
class Sites(MethodView):
    """Drop-off points, transfer stations and sorting centres."""

    @access(*STAFF)
    @blp.response(200, s.SiteOut(many=True))
    def get(self) -> Any:
        """List the sites in the caller's scope."""
        with uow() as tx:
            return sites.list_sites(tx, principal=current_principal())

    @access(CLERK, Role.ADMIN)
    @blp.arguments(s.SiteIn)
    @blp.response(201, s.SiteOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Register a site (clerks for their own recycler)."""
        org_id = acting_org() or data.pop("organisation_id", None)
        data.pop("organisation_id", None)
        if org_id is None:
            raise ValidationFailed.field("organisation_id", "请指定回收企业 / organisation_id is required")
        with uow() as tx:
            site_id = sites.register_site(tx, actor=current_principal().actor, organisation_id=org_id, **data)
            tx.commit()
            return sites.site_view(sites.get_site(tx, site_id=site_id))


@blp.route("/sites/<int:site_id>/stock")
class SiteStock(MethodView):
    """What a site holds."""

    @access(*STAFF)
    @blp.response(200, s.StockOut(many=True))
    def get(self, site_id: int) -> Any:
        """List the site's stock per category (derived from intakes and transfers)."""
        with uow() as tx:
            return stock.site_stock(tx, site_id=site_id, principal=current_principal())


@blp.route("/certificates")
class Certificates(MethodView):
    """Scrap certificates (报废机动车回收证明)."""

    @access(*STAFF)
    @blp.arguments(s.StateQuery, location="query")
    @blp.response(200, s.CertificateOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """List certificates in the caller's scope."""
        with uow() as tx:
            rows = issuing.list_certificates(tx, principal=current_principal(), state=query["state"])
            return [{**asdict(r), "verify_url": verify_url(tx, r.id)} for r in rows]

    @access(CLERK)
    @blp.arguments(s.CertificateIn)
    @blp.response(201, s.CertificateOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Issue a certificate; needs a valid dismantling licence. Records the vehicle as recovered."""
        principal = current_principal()
        with uow() as tx:
            new_id = issuing.issue_certificate(tx, actor=principal.actor, dismantler_org_id=acting_org() or 0,
                                               draft=CertificateDraft(**data))
            tx.commit()
            view = issuing.certificate_view(tx, certificate_id=new_id, principal=principal)
            return {**asdict(view), "verify_url": verify_url(tx, new_id)}


@blp.route("/certificates/<int:certificate_id>")
class CertificateItem(MethodView):
    """One certificate."""

    @access(*STAFF)
    @blp.response(200, s.CertificateOut)
    def get(self, certificate_id: int) -> Any:
        """Show a certificate (personal data masked)."""
        with uow() as tx:
            view = issuing.certificate_view(tx, certificate_id=certificate_id, principal=current_principal())
            return {**asdict(view), "verify_url": verify_url(tx, certificate_id)}


@blp.route("/certificates/<int:certificate_id>/revoke")
class CertificateRevoke(MethodView):
    """Revocation of an unused certificate."""

    @access(CLERK)
    @blp.arguments(s.ReasonIn)
    @blp.response(200, s.CertificateOut)
    def post(self, data: dict[str, Any], certificate_id: int) -> Any:
        """Revoke an unused certificate with a reason."""
        principal = current_principal()
        with uow() as tx:
            issuing.revoke_certificate(tx, actor=principal.actor, dismantler_org_id=acting_org(),
                                       certificate_id=certificate_id, reason=data["reason"])
            tx.commit()
            view = issuing.certificate_view(tx, certificate_id=certificate_id, principal=principal)
            return {**asdict(view), "verify_url": verify_url(tx, certificate_id)}


def _qr(certificate_id: int) -> str:
    with uow() as tx:
        issuing.certificate_view(tx, certificate_id=certificate_id, principal=current_principal())
        return verify_url(tx, certificate_id)


@blp.route("/certificates/<int:certificate_id>/qr.png")
class CertificateQrPng(MethodView):
    """The certificate's QR code as PNG."""

    @access(*STAFF)
    @blp.response(200, content_type="image/png")
    def get(self, certificate_id: int) -> Any:
        """Render the verification QR code (a signed token, never the id)."""
        return Response(render_png(_qr(certificate_id)), mimetype="image/png")


@blp.route("/certificates/<int:certificate_id>/qr.svg")
class CertificateQrSvg(MethodView):
    """The certificate's QR code as SVG."""

    @access(*STAFF)
    @blp.response(200, content_type="image/svg+xml")
    def get(self, certificate_id: int) -> Any:
        """Render the verification QR code as SVG."""
        return Response(render_svg(_qr(certificate_id)), mimetype="image/svg+xml")


@blp.route("/intakes")
class Intakes(MethodView):
    """Intake records."""

    @access(*STAFF)
    @blp.arguments(s.IntakeQuery, location="query")
    @blp.response(200, s.IntakeOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """List intake records in the caller's scope, newest first."""
        with uow() as tx:
            return intake.list_intakes(tx, principal=current_principal(), **query)

    @access(CLERK)
    @blp.arguments(s.IntakeIn)
    @blp.response(201, s.IntakeOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Record what a site took in; stock and rollups change in the same transaction."""
        principal = current_principal()
        with uow() as tx:
            new_id = intake.record_intake(tx, actor=principal.actor, acting_org_id=acting_org(),
                                          draft=intake.IntakeDraft(**{**data, "source": data["source"].value}))
            tx.commit()
            return intake.get_intake(tx, intake_id=new_id, principal=principal)


@blp.route("/intakes/<int:intake_id>")
class IntakeItem(MethodView):
    """One intake record."""

    @access(*STAFF)
    @blp.response(200, s.IntakeOut)
    def get(self, intake_id: int) -> Any:
        """Show an intake record."""
        with uow() as tx:
            return intake.get_intake(tx, intake_id=intake_id, principal=current_principal())


@blp.route("/intakes/<int:intake_id>/corrections")
class IntakeCorrections(MethodView):
    """Corrections: a reversing record, and optionally the right one."""

    @access(CLERK)
    @blp.arguments(s.CorrectionIn)
    @blp.response(201, s.CorrectionOut)
    def post(self, data: dict[str, Any], intake_id: int) -> Any:
        """Correct an intake by reversing it (never editing it)."""
        replacement = data["replacement"]
        draft = intake.IntakeDraft(**{**replacement, "source": replacement["source"].value}) if replacement else None
        with uow() as tx:
            done = intake.correct_intake(tx, actor=current_principal().actor, acting_org_id=acting_org(),
                                         intake_id=intake_id, reason=data["reason"], replacement=draft)
            tx.commit()
        return done


@blp.route("/intake-imports")
class IntakeImports(MethodView):
    """Bulk intake files (CSV or XLSX)."""

    @access(CLERK)
    @body_limit(TABLE_FILE_LIMIT)
    @blp.arguments(s.ImportForm, location="query")
    @blp.arguments(s.ImportFile, location="files")
    @blp.response(201, s.ImportOut)
    def post(self, form: dict[str, Any], files: dict[str, Any]) -> Any:
        """Import a file: all-or-nothing or valid rows only; the same file twice is refused."""
        upload = files["file"]
        with uow() as tx:
            report = imports.import_intake_file(tx, actor=current_principal().actor, organisation_id=acting_org() or 0,
                                                filename=upload.filename or "upload.csv", content=upload.read(),
                                                mode=form["mode"])
            tx.commit()
        return report


@blp.route("/intake-imports/<int:import_id>")
class IntakeImportItem(MethodView):
    """One bulk import."""

    @access(CLERK, *BUREAU)
    @blp.response(200, s.ImportOut)
    def get(self, import_id: int) -> Any:
        """Show an import's outcome and row errors."""
        with uow() as tx:
            return imports.get_import(tx, import_id=import_id, principal=current_principal())


@blp.route("/transfers")
class Transfers(MethodView):
    """Material moving between sites."""

    @access(CLERK)
    @blp.arguments(s.TransferIn)
    @blp.response(201, s.RecyclingIdOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Move material up the network; refused when the sending site holds less."""
        with uow() as tx:
            new_id = stock.transfer_material(tx, actor=current_principal().actor, acting_org_id=acting_org(), **data)
            tx.commit()
        return {"id": new_id}

"""Appliance API: catalogue, stores and their posters, participation decisions, dealer accounts."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView

from subsidy_app.access import access, current_principal
from subsidy_app.appliances import catalogue, participation, poster
from subsidy_app.appliances import schemas as s
from subsidy_app.bodies import TABLE_FILE_LIMIT, Blueprint, body_limit
from subsidy_app.core.errors import ValidationFailed
from subsidy_app.http import uow
from subsidy_app.identity.domain import Role

blp = Blueprint("appliances", __name__, url_prefix="/api/v1", description="家电与数码以旧换新 / appliance trade-ins")
BUREAU = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)
STAFF = (Role.DEALER_CLERK, Role.FINANCE_OFFICER, *BUREAU)


def upload() -> tuple[str, bytes]:
    """Return the uploaded file (field `file`) or refuse naming it."""
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ValidationFailed.field("file", "请上传 CSV 或 XLSX 文件 / upload a CSV or XLSX file")
    return file.filename, file.read()


@blp.route("/appliance-products")
class Products(MethodView):
    """The subsidy product catalogue."""

    @access(*STAFF)
    @blp.arguments(s.ProductQuery, location="query")
    @blp.response(200, s.ProductOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """List products."""
        with uow() as tx:
            return catalogue.list_products(tx, **query)

    @access(*BUREAU)
    @blp.arguments(s.ProductIn)
    @blp.response(200, s.ProductOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Create or update a product by GTIN."""
        with uow() as tx:
            product = catalogue.upsert_product(tx, actor=current_principal().actor, **data)
            tx.commit()
        return product


@blp.route("/appliance-products/import")
class ProductImport(MethodView):
    """Catalogue files."""

    @access(*BUREAU)
    @body_limit(TABLE_FILE_LIMIT)
    @blp.response(200, s.ImportOut)
    def post(self) -> Any:
        """Import a CSV or XLSX catalogue; every rejected row is reported with its line, field and reason."""
        filename, data = upload()
        with uow() as tx:
            report = catalogue.import_products(tx, actor=current_principal().actor, filename=filename, data=data)
            tx.commit()
        return report


@blp.route("/appliance-products/<gtin>")
class ProductItem(MethodView):
    """One product."""

    @access(*STAFF)
    @blp.response(200, s.ProductOut)
    def get(self, gtin: str) -> Any:
        """Show a product."""
        with uow() as tx:
            return catalogue.get_product(tx, gtin=gtin)

    @access(*BUREAU)
    @blp.response(204)
    def delete(self, gtin: str) -> None:
        """Take a product off the catalogue."""
        with uow() as tx:
            catalogue.deactivate_product(tx, actor=current_principal().actor, gtin=gtin)
            tx.commit()


@blp.route("/appliance-stores")
class Stores(MethodView):
    """Dealers' stores."""

    @access(Role.DEALER_CLERK, *BUREAU)
    @blp.response(200, s.StoreOut(many=True))
    def get(self) -> Any:
        """List the stores the caller may see."""
        with uow() as tx:
            return participation.list_stores(tx, principal=current_principal())

    @access(Role.DEALER_CLERK, *BUREAU)
    @blp.arguments(s.StoreIn)
    @blp.response(201, s.StoreOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Open a store."""
        with uow() as tx:
            store = participation.create_store(tx, principal=current_principal(), **data)
            tx.commit()
        return store


@blp.route("/appliance-stores/<int:store_id>/poster.<fmt>")
class StorePoster(MethodView):
    """The store's QR poster."""

    @access(Role.DEALER_CLERK, *BUREAU)
    def get(self, store_id: int, fmt: str) -> Response:
        """Render the store's poster QR as PNG, SVG or an A4 PDF with the subsidy standard."""
        with uow() as tx:
            store = participation.get_store(tx, store_id=store_id, principal=current_principal())
            categories = participation.approved_categories(tx, store_id=store.id)
        return poster.respond(store, categories, fmt)


@blp.route("/appliance-participations")
class Participations(MethodView):
    """The county bureau's approvals and suspensions."""

    @access(Role.DEALER_CLERK, *BUREAU)
    @blp.response(200, s.ParticipationOut(many=True))
    def get(self) -> Any:
        """List decisions the caller may see."""
        with uow() as tx:
            return participation.list_participations(tx, principal=current_principal())

    @access(*BUREAU)
    @blp.arguments(s.ParticipationIn)
    @blp.response(200, s.ParticipationOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Approve or suspend a dealer or one store for a category (audited)."""
        with uow() as tx:
            decision = participation.decide(tx, principal=current_principal(), **data)
            tx.commit()
        return decision


@blp.route("/appliance-dealers/<int:dealer_org_id>/account")
class DealerAccountView(MethodView):
    """Where settlements pay the dealer."""

    @access(Role.DEALER_CLERK, Role.ADMIN)
    @blp.arguments(s.AccountIn)
    @blp.response(200, s.AccountOut)
    def put(self, data: dict[str, Any], dealer_org_id: int) -> Any:
        """Set the dealer's settlement account."""
        with uow() as tx:
            masked = participation.set_dealer_account(tx, principal=current_principal(),
                                                      dealer_org_id=dealer_org_id, **data)
            tx.commit()
        return {"account_masked": masked}

"""Vehicle registry API: bureau administrators import files, auditors look up a VIN (owner masked)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import request
from flask.views import MethodView

from subsidy_app.access import access, current_principal
from subsidy_app.bodies import TABLE_FILE_LIMIT, Blueprint, body_limit
from subsidy_app.core.errors import NotFound, ValidationFailed
from subsidy_app.http import uow
from subsidy_app.identity.domain import Role
from subsidy_app.schema_fields import RowErrorOut, Text
from subsidy_app.vehicles import services

blp = Blueprint("vehicles", __name__, url_prefix="/api/v1", description="车辆登记信息 / vehicle registry")
READERS = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)


class RegistryImportOut(ma.Schema):
    """What an import did."""

    accepted = ma.fields.Integer()
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()
    rejected = ma.fields.List(ma.fields.Nested(RowErrorOut))


class VehicleOwnerOut(ma.Schema):
    """An owner, masked."""

    owner_id = ma.fields.String()
    owner_since = ma.fields.Date()


class VehicleOut(ma.Schema):
    """A registry record with the owner masked."""

    vin = ma.fields.String()
    plate = ma.fields.String()
    vehicle_type = ma.fields.String()
    use_type = ma.fields.String()
    fuel = ma.fields.String()
    fuel_code = ma.fields.String()
    first_registration = ma.fields.Date()
    owner_id = ma.fields.String(attribute="owner_id_masked")
    owner_since = ma.fields.Date()
    deregistered = ma.fields.Boolean()
    deregistered_on = ma.fields.Date(allow_none=True)
    deregistration_certificate = ma.fields.String(allow_none=True)
    transferred_out = ma.fields.Boolean()
    transferred_out_on = ma.fields.Date(allow_none=True)
    owners = ma.fields.List(ma.fields.Nested(VehicleOwnerOut))


class DeregistrationIn(ma.Schema):
    """A deregistration certificate from the vehicle administration office."""

    certificate_number = Text(required=True, validate=ma.validate.Length(min=4), max_length=60)
    deregistered_on = ma.fields.Date(required=True)


@blp.route("/vehicle-registry/imports")
class RegistryImports(MethodView):
    """Registry file uploads."""

    @access(Role.ADMIN)
    @body_limit(TABLE_FILE_LIMIT)
    @blp.response(200, RegistryImportOut)
    def post(self) -> Any:
        """Import a public-security CSV or XLSX file (multipart field `file`) and report refused rows."""
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed.field("file", "请上传文件 / upload a file", reason="registry.no_file")
        data = upload.read()  # its size is held to the route's body limit (413 body.too_large)
        with uow() as tx:
            report = services.import_records(tx, actor=current_principal().actor,
                                             filename=upload.filename or "upload.csv", data=data)
            tx.commit()
        return report


@blp.route("/vehicles/<string:vin>")
class VehicleItem(MethodView):
    """One vehicle in the registry."""

    @access(*READERS)
    @blp.response(200, VehicleOut)
    def get(self, vin: str) -> Any:
        """Look up a VIN: registration, fuel, owner (masked) and history, deregistration, transfer out."""
        with uow() as tx:
            vin = services.visible_vin(tx, principal=current_principal(), vin=vin)
            record = services.LocalVehicleRegistry(tx).lookup(vin)
            if record is None:
                raise NotFound("登记系统中没有该车辆 / the registry has no such vehicle", reason="vehicle.not_found")
            owners = [{"owner_id": m, "owner_since": d} for m, d in services.ownership_history(tx, vin=vin)]
        return {**record.__dict__, "deregistered": record.deregistered, "transferred_out": record.transferred_out,
                "owners": owners}


@blp.route("/vehicles/<string:vin>/deregistration")
class VehicleDeregistration(MethodView):
    """The vehicle's deregistration certificate."""

    @access(Role.AUDITOR, Role.ADMIN)
    @blp.arguments(DeregistrationIn)
    @blp.response(200, VehicleOut)
    def put(self, data: dict[str, Any], vin: str) -> Any:
        """Record the deregistration certificate against the VIN."""
        with uow() as tx:
            record = services.record_deregistration(tx, principal=current_principal(), vin=vin, **data)
            tx.commit()
        return {**record.__dict__, "deregistered": record.deregistered, "transferred_out": record.transferred_out,
                "owners": []}

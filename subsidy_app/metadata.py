"""Import every model module so Base.metadata knows all tables (for Alembic and test setup)."""

from __future__ import annotations

import recycling.models  # noqa: F401
import reverse_invoice.models  # noqa: F401
import subsidy_app.appliances.models
import subsidy_app.applications.models
import subsidy_app.audit.models
import subsidy_app.core.idempotency
import subsidy_app.core.outbox
import subsidy_app.documents.models
import subsidy_app.identity.models
import subsidy_app.messaging.models
import subsidy_app.oversight.complaint_models
import subsidy_app.oversight.spot_models
import subsidy_app.rules.models
import subsidy_app.vehicles.models  # noqa: F401
from subsidy_app.core.db import Base

target_metadata = Base.metadata

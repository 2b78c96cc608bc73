"""factory_boy factories for identity rows, bound to the test's rolled-back session by the `factories` fixture."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from subsidy_app.identity.models import Account, Organisation
from subsidy_app.seed import demo_credit_code


class OrganisationFactory(SQLAlchemyModelFactory):
    """A dealer in 离石区 with a valid credit code (a new serial each time)."""

    class Meta:
        model = Organisation
        sqlalchemy_session_persistence = "flush"

    kind = "dealer"
    name = factory.Sequence(lambda n: f"测试经销商{n}有限公司")
    credit_code = factory.Sequence(lambda n: demo_credit_code(900000 + n))
    county_code = "141102"
    city_level = False


class AccountFactory(SQLAlchemyModelFactory):
    """A staff account of an organisation; the password hash is a fixed argon2 hash of `factory-password`."""

    class Meta:
        model = Account
        sqlalchemy_session_persistence = "flush"

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"测试用户{n}")
    password_hash = factory.LazyFunction(lambda: _hash("factory-password"))
    organisation = factory.SubFactory(OrganisationFactory)
    roles = "dealer_clerk"
    counties = "141102"
    all_counties = False


def _hash(password: str) -> str:
    from subsidy_app.identity import services

    return services._hasher.hash(password)


ALL = (OrganisationFactory, AccountFactory)

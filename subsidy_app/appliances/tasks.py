"""Appliance jobs: large bulk sales files; demo data registers from here."""

from __future__ import annotations

from subsidy_app.appliances import demo  # noqa: F401 - registers the demo step

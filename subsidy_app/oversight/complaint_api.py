"""Complaints and appeals API (/api/v1/oversight/cases)."""

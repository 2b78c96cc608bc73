"""Oversight after approval: spot checks, complaints and appeals, review deadlines (issue 16)."""

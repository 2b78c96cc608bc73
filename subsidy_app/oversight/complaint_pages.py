"""Complaint pages: the staff workbench's case list, case page and phone form; the resident's mobile form."""

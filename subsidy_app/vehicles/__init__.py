"""Vehicle registry adapter (public-security records) and deregistration certificates."""

"""Uploaded scans and photos: sniffed, size-limited, stored by SHA-256 and served safely."""

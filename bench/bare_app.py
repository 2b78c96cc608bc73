"""The reference for server benchmarks: a bare Flask app under the same gunicorn settings."""

from __future__ import annotations

import os

from flask import Flask, jsonify, request


def ensure_bare_table(url: str) -> None:
    """Create the table /insert writes to (the benchmark calls this before starting the server's workers)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_bare (id bigserial PRIMARY KEY, payload text NOT NULL)"))
    engine.dispose()


def create_bare_app() -> Flask:
    """Return a Flask app with a constant-JSON endpoint and a one-INSERT endpoint."""
    app = Flask(__name__)
    engine = None
    if os.environ.get("DATABASE_URL"):
        from sqlalchemy import create_engine, text

        engine = create_engine(os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"),
                               pool_size=10)

    @app.post("/constant")
    def constant():  # type: ignore[no-untyped-def]
        request.get_json()
        return jsonify({"eligible": True, "amount": "20000.00", "version_code": "bench"})

    @app.post("/insert")
    def insert():  # type: ignore[no-untyped-def]
        body = request.get_json()
        assert engine is not None
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO bench_bare (payload) VALUES (:p)"), {"p": str(body)})
        return jsonify({"ok": True}), 201

    return app

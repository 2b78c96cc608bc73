"""The reference for server benchmarks: a bare Flask app under the same gunicorn settings."""

from __future__ import annotations

import os

from flask import Flask, jsonify, request


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

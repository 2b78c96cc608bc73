"""Shared benchmark plumbing: a migrated PostgreSQL database, gunicorn servers and an HTTP load generator."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent


def bench_database_url(name: str = "subsidy_bench") -> str:
    """Return a freshly created, migrated PostgreSQL database for a benchmark."""
    url = os.environ.get("BENCH_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    base, db = url.rsplit("/", 1)
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    admin.dispose()
    from subsidy_app import migrate

    migrate.upgrade(url)
    return url


def checkpoint(url: str) -> None:
    """Flush PostgreSQL's dirty pages now, so a checkpoint triggered by earlier loading (the bulk file) does not
    land inside the next measured run and make its figure depend on timing."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CHECKPOINT"))
    engine.dispose()


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The server every HTTP benchmark runs its app and its bare reference under (BENCH_WORKERS, BENCH_THREADS).
WORKERS, THREADS = int(os.environ.get("BENCH_WORKERS", "2")), int(os.environ.get("BENCH_THREADS", "8"))
SERVER = f"gunicorn {WORKERS} workers x {THREADS} threads (gthread), PostgreSQL"


@contextlib.contextmanager
def gunicorn(app_spec: str, env: dict[str, str], workers: int = WORKERS, threads: int = THREADS) -> Iterator[str]:
    """Serve an app with gunicorn on loopback; yield its base URL."""
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115 - outlives this frame
    ready = Path(tempfile.mkdtemp(prefix="gunicorn-ready-"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "gthread", "--threads", str(threads),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "-c", str(ROOT / "bench" / "gunicorn_ready.py"),
         app_spec],
        env={**os.environ, **env, "BENCH_READY_DIR": str(ready)}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        # The master listens at once, but a worker serves only once it has imported the app: wait for every
        # worker, or the first seconds of load measure the workers' start-up instead of the endpoint.
        deadline = time.monotonic() + 60
        while len(list(ready.iterdir())) < workers:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def post_load(base_url: str, path: str, body: dict[str, object], *, seconds: float = 10.0,
              connections: int = 32) -> dict[str, float]:
    """POST the same JSON body for `seconds` with `connections` concurrent clients; return rps and latencies."""
    payload = json.dumps(body)
    if shutil.which("wrk"):
        return _wrk(base_url + path, payload, seconds, connections)
    return _python_load(base_url, path, payload, seconds, connections)


def _wrk(url: str, payload: str, seconds: float, connections: int) -> dict[str, float]:
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115 - closed below
    script.write(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(payload)}\n"
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("JSON {\\"requests\\":%d,\\"errors\\":%d,\\"seconds\\":%f,'
        '\\"p50_ms\\":%f,\\"p99_ms\\":%f,\\"non2xx\\":%d}\\n", summary.requests, '
        "summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, "
        "summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000, "
        "summary.errors.status))\nend\n"
    )
    script.close()
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "-s", script.name, url],
                         capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("JSON "))
    stats = json.loads(line[5:])
    return {"rps": stats["requests"] / stats["seconds"], "p50_ms": stats["p50_ms"], "p99_ms": stats["p99_ms"],
            "errors": stats["errors"] + stats["non2xx"], "requests": stats["requests"]}


def _python_load(base_url: str, path: str, payload: str, seconds: float, connections: int) -> dict[str, float]:
    host, port = base_url.replace("http://", "").split(":")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        mine: list[float] = []
        while time.monotonic() < stop:
            start = time.perf_counter()
            conn.request("POST", path, payload, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            if response.status >= 300:
                errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(connections)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000, "errors": errors[0],
            "requests": len(latencies)}

"""Gunicorn settings for benchmarks: each worker marks itself ready once it has loaded the app."""

import os
from pathlib import Path
from typing import Any


def post_worker_init(worker: Any) -> None:
    """Touch a file named after the worker's pid in BENCH_READY_DIR (bench.common.gunicorn waits for them all)."""
    ready_dir = os.environ.get("BENCH_READY_DIR")
    if ready_dir:
        Path(ready_dir, str(worker.pid)).touch()

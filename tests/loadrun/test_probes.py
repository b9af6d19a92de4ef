"""The load run's machine probes: the disk's fsync samples and the CPU split that keeps the
niced sweeper apart from the API workers (both read from the real OS, as in a run)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from load_tests.disk import FsyncProbe, summary_line
from load_tests.run_load import cpu_groups
from worklist.serving import SWEEPER_NICENESS


def test_the_fsync_probe_samples_the_disk_and_cleans_up(tmp_path: Path) -> None:
    with FsyncProbe(tmp_path) as probe:
        time.sleep(0.6)
    summary = probe.summary()
    assert summary["samples"] >= 3
    assert 0 < summary["p50_ms"] <= summary["p99_ms"] <= summary["max_ms"]
    assert len(summary["slowest"]) == 3
    assert "p99" in summary_line(summary) and "of" in summary_line(summary)
    assert list(tmp_path.iterdir()) == []  # its scratch file is gone
    assert summary_line(FsyncProbe(tmp_path).summary()).endswith("no samples")


def test_the_cpu_split_tells_the_niced_sweeper_from_the_api_workers() -> None:
    """A process group like `worklist serve --workers N`: the leader and one child at the
    sweeper's niceness; each lands in its own group and nothing else of ours does."""
    service = subprocess.Popen(
        ["bash", "-c", f"nice -n {SWEEPER_NICENESS} sleep 30 & echo $!; sleep 30"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert service.stdout is not None
        niced = int(service.stdout.readline())
        deadline = time.monotonic() + 5  # `nice` lowers its priority just after the fork
        while os.getpriority(os.PRIO_PROCESS, niced) != SWEEPER_NICENESS:
            assert time.monotonic() < deadline, "the child never took the sweeper's niceness"
            time.sleep(0.01)
        groups = cpu_groups(service.pid, locust_pid=-1, redis_pid=-1)

        def first_group(pid: int) -> str | None:
            pgrp = os.getpgid(pid)
            return next((g for g, test in groups.items() if test("", pid, pgrp)), None)

        assert first_group(niced) == "service's sweeper (niced)"
        assert first_group(service.pid) == "service (API workers)"
        assert first_group(os.getpid()) is None
    finally:
        os.killpg(service.pid, signal.SIGKILL)
        service.wait(timeout=10)

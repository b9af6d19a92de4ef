"""The load run's machine probes: the disk's fsync samples and the CPU split that keeps the
niced sweeper apart from the API workers (both read from the real OS, as in a run)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from load_tests.cpu import (
    MACHINE,
    STEAL,
    CpuTimeline,
    core_speed,
    core_speed_ms,
    process_cpu_seconds,
    reading,
)
from load_tests.disk import FsyncProbe, summary_line
from load_tests.run_load import cpu_groups, worst_seconds_cpu
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
    assert probe.started_wall <= time.time()


def test_a_slow_fsync_is_a_stall_in_wall_clock_time(tmp_path: Path) -> None:
    """Samples are kept as (seconds since the start, ms) when the fsync returned; a stall is
    the wall-clock window it covered."""
    probe = FsyncProbe(tmp_path)
    probe.started_wall = 1000.0
    probe.samples_ms = [(1.0, 150.0), (2.0, 5.0), (3.5, 100.0), (4.0, 2000.0)]
    assert probe.stalls() == [(1000.85, 1001.0), (1002.0, 1004.0)]
    assert probe.stalls(over_ms=1000) == [(1002.0, 1004.0)]


def test_the_cpu_split_tells_the_niced_sweeper_from_the_api_workers() -> None:
    """A process group like `worklist serve --workers N`: the leader, and children at the
    sweeper's niceness, in the group or (as the sweeper now runs) in a session of their own;
    each lands in its own CPU group and nothing else of ours does."""
    nice = f"nice -n {SWEEPER_NICENESS} sleep 30"
    service = subprocess.Popen(
        ["bash", "-c", f"{nice} & echo $!; setsid {nice} & echo $!; sleep 30"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    own_session = -1
    try:
        assert service.stdout is not None
        niced, own_session = int(service.stdout.readline()), int(service.stdout.readline())
        deadline = time.monotonic() + 5  # `nice` lowers its priority just after the fork
        for pid in (niced, own_session):
            while os.getpriority(os.PRIO_PROCESS, pid) != SWEEPER_NICENESS:
                assert time.monotonic() < deadline, "a child never took the sweeper's niceness"
                time.sleep(0.01)
        assert os.getsid(own_session) == own_session != os.getsid(service.pid)
        groups = cpu_groups(service.pid, locust_pid=-1, redis_pid=-1)

        def first_group(pid: int) -> str | None:
            pgrp, ppid = os.getpgid(pid), int(Path(f"/proc/{pid}/stat").read_text().split()[3])
            return next((g for g, test in groups.items() if test("", pid, pgrp, ppid)), None)

        assert first_group(niced) == "service's sweeper (niced)"
        assert first_group(own_session) == "service's sweeper (niced)"
        assert first_group(service.pid) == "service (API workers)"
        assert first_group(os.getpid()) is None
    finally:
        os.killpg(service.pid, signal.SIGKILL)
        service.wait(timeout=10)
        if own_session > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(own_session, signal.SIGKILL)


def test_the_worst_seconds_say_who_had_the_cores_then() -> None:
    """Samples every half second; a second's share comes from the samples around it."""
    record = CpuTimeline()
    for i, (api, pg) in enumerate([(0.0, 0.0), (0.5, 0.1), (0.6, 0.9), (0.7, 1.7), (1.2, 1.8)]):
        at, cpu = 1000.0 + i * 0.5, {"service (API workers)": api, "postgres": pg}
        record.add(at, {**cpu, "whole machine": api + pg})
    assert record.cores_during(1000.0, 1001.0) == pytest.approx(
        {"service (API workers)": 0.6, "postgres": 0.9, "whole machine": 1.5}
    )
    assert record.cores_during(999.0, 1000.5) is None  # before the first sample
    assert record.cores_during(1001.5, 1002.5) is None  # after the last
    pulls = {"limit_ms": 50.0, "started": 1000.0, "pulls": {"0": 9, "1": 9}, "slow": {"1": 4}}
    lines = worst_seconds_cpu(pulls, record)
    assert lines == ["  s1 cores in use: service 0.60, postgres 0.90, whole machine 1.50"]
    assert worst_seconds_cpu({**pulls, "started": None}, record) == []


def test_a_live_cpu_timeline_sees_a_busy_process() -> None:
    """Against /proc: a process spinning for a second shows about a core in its window."""
    spinner = subprocess.Popen(
        ["python3", "-c", "import time\nt=time.time()\nwhile time.time()-t<1.5: pass"]
    )
    try:
        groups = {"spinner": lambda _n, pid, _g, _pp: pid == spinner.pid}
        record = CpuTimeline()
        for _ in range(4):
            record.add(time.time(), reading(groups))
            time.sleep(0.4)
    finally:
        spinner.wait(timeout=10)
    cores = record.cores_during(record.samples[0][0], record.samples[-1][0])
    assert cores is not None and cores["spinner"] > 0.5
    assert cores[MACHINE] >= cores["spinner"] * 0.9  # the machine counts it too
    assert cores[STEAL] >= 0


def test_the_core_speed_probe_times_its_loop_alone_and_on_both_cores() -> None:
    """Ten times the additions take longer (the best of three each, so a single hiccup of the
    machine does not decide it), alone and in two processes at once."""
    short, long = core_speed_ms(100_000), core_speed_ms(1_000_000)
    assert 0 < short < long
    small, big = core_speed(100_000), core_speed(1_000_000)
    assert 0 < small["one_core_ms"] < big["one_core_ms"]
    assert 0 < small["both_cores_ms"] < big["both_cores_ms"]


def test_one_process_cpu_seconds_grow_with_its_work_and_a_gone_one_is_refused() -> None:
    before = process_cpu_seconds(os.getpid())
    core_speed_ms(additions=3_000_000, tries=2)  # a fixed amount of pure-Python work
    assert process_cpu_seconds(os.getpid()) > before
    gone = subprocess.Popen(["true"])
    gone.wait()
    with pytest.raises(ProcessLookupError):
        process_cpu_seconds(gone.pid)

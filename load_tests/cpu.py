"""CPU seconds used by groups of processes over a load run, read from /proc (Linux)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid_dir: Path) -> tuple[str, int, int, float] | None:
    """(command name, process group, parent, CPU seconds) of one process, None if it went
    away."""
    try:
        raw = (pid_dir / "stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is state (field 3); ppid is field 4, pgrp 5, utime 14, stime 15
    return name, int(fields[2]), int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds one process has used so far; OSError when it is gone."""
    found = _stat(Path(f"/proc/{pid}"))
    if found is None:
        raise ProcessLookupError(pid)
    return found[3]


def snapshot(groups: dict[str, Callable[[str, int, int, int], bool]]) -> dict[str, float]:
    """CPU seconds so far per named group; a group is a test on (name, pid, pgrp, ppid)."""
    out = dict.fromkeys(groups, 0.0)
    for pid_dir in Path("/proc").glob("[0-9]*"):
        found = _stat(pid_dir)
        if found is None:
            continue
        name, pgrp, ppid, seconds = found
        for group, test in groups.items():
            if test(name, int(pid_dir.name), pgrp, ppid):
                out[group] += seconds
                break
    return out


MACHINE = "whole machine (all users)"
STEAL = "stolen by the hypervisor"


def machine_seconds() -> dict[str, float]:
    """CPU seconds the whole machine spent busy (every process, ours or not, and the kernel),
    and those the hypervisor gave to other guests while this one had work ("steal"): on a
    shared virtual machine the second is why the same run is slower on one day than another."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, steal = parts[3] + parts[4], parts[7]
    return {MACHINE: (sum(parts[:7]) - idle) / TICKS, STEAL: steal / TICKS}


def reading(groups: dict[str, Callable[[str, int, int, int], bool]]) -> dict[str, float]:
    """Every group's CPU seconds so far, with the machine's busy and stolen seconds."""
    return {**snapshot(groups), **machine_seconds()}


class CpuTimeline:
    """Snapshots of every group's CPU seconds (and the machine's) taken through a run, so the
    run's worst seconds can say who had the cores then, not only over the whole run."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, dict[str, float]]] = []

    def add(self, at: float, cpu: dict[str, float]) -> None:
        self.samples.append((at, cpu))

    def cores_during(self, start: float, end: float) -> dict[str, float] | None:
        """Average cores each group used from the last sample at or before ``start`` to the
        first at or after ``end``; None when the samples do not cover that span."""
        before = [s for s in self.samples if s[0] <= start]
        after = [s for s in self.samples if s[0] >= end]
        if not before or not after:
            return None
        (t0, first), (t1, last) = before[-1], after[0]
        return {k: (last[k] - first[k]) / (t1 - t0) for k in first}


def core_speed_ms(additions: int = 2_000_000, tries: int = 3) -> float:
    """Milliseconds one core takes for a fixed pure-Python loop, the best of ``tries``."""
    best = float("inf")
    for _ in range(tries):
        started = time.perf_counter()
        total = 0
        for i in range(additions):
            total += i
        best = min(best, time.perf_counter() - started)
    return best * 1000


def core_speed(additions: int = 2_000_000) -> dict[str, float]:
    """The loop of ``core_speed_ms`` alone, and in two processes at once (the slower of them).

    The hypervisor can slow this virtual machine's cores without counting it as steal: on 3
    Dec the loop took 112 ms alone in one hour and 300-340 ms in the next, and 320 ms in two
    processes at once while 112 ms alone. A load run keeps both cores busy, so it prints both
    figures beside its own: runs are only comparable on a machine of like speed.
    """
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(core_speed_ms, [1000, 1000]))  # both workers started before timing
        both = max(pool.map(core_speed_ms, [additions, additions]))
    return {"one_core_ms": round(core_speed_ms(additions), 1), "both_cores_ms": round(both, 1)}

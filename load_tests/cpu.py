"""CPU seconds used by groups of processes over a load run, read from /proc (Linux)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid_dir: Path) -> tuple[str, int, float] | None:
    """(command name, process group, CPU seconds) of one process, None if it went away."""
    try:
        raw = (pid_dir / "stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is state (field 3); pgrp is field 5, utime 14, stime 15
    return name, int(fields[2]), (int(fields[11]) + int(fields[12])) / TICKS


def snapshot(groups: dict[str, Callable[[str, int, int], bool]]) -> dict[str, float]:
    """CPU seconds so far per named group; a group is a test on (name, pid, pgrp)."""
    out = dict.fromkeys(groups, 0.0)
    for pid_dir in Path("/proc").glob("[0-9]*"):
        found = _stat(pid_dir)
        if found is None:
            continue
        name, pgrp, seconds = found
        for group, test in groups.items():
            if test(name, int(pid_dir.name), pgrp):
                out[group] += seconds
                break
    return out


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent not idle (every process, ours or not)."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    return (sum(parts[:8]) - idle) / TICKS

"""Background passes rest between their write transactions, in proportion to each one.

The sweeper's passes over a large backlog (predictions rewritten, a backlog turning red
recommended for outsourcing, widenings) are chains of short transactions. Back to back, on
2 cores, such a pass kept a core and the database busy for seconds, and the pulls of those
seconds queued behind it: in ``make load`` the slowest seconds of a run were the ones with
the per-minute prediction pass (docs/load.md). Resting between two chunks as long as the
last one took halves the write phase's share of the machine; the pass takes longer (lease
expiry and widening in the same sweep wait for it, seconds at most).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

#: Rest before the next chunk, as a multiple of the time the last chunk's work took.
REST_RATIO = 1.0


def paced(
    chunks: Iterable[T],
    ratio: float = REST_RATIO,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[T]:
    """Yield each chunk; before the next one, rest ``ratio`` times as long as the caller's
    work on the last one took (never after the last chunk)."""
    took: float | None = None
    for chunk in chunks:
        if took is not None and ratio > 0:
            sleep(took * ratio)
        started = clock()
        yield chunk
        took = clock() - started


def paced_chunks(
    items: Sequence[T],
    size: int,
    ratio: float = REST_RATIO,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Sequence[T]]:
    """``items`` ``size`` at a time (a write transaction each), rested between as ``paced``."""
    slices = (items[i : i + size] for i in range(0, len(items), size))
    return paced(slices, ratio, clock, sleep)

"""Background passes rest between their write transactions, in proportion to each one.

The sweeper's passes over a large backlog (predictions rewritten, a backlog turning red
recommended for outsourcing, widenings) are chains of short transactions. Back to back, on
2 cores, one such pass held a core and the database busy for seconds, and the pulls of those
seconds queued behind it: in ``make load`` the slowest seconds of a run were the ones with
the per-minute prediction pass (docs/load.md). Resting as long again as each transaction took
halves the pass's share of the machine while it runs; the pass takes longer, which nobody
waits for.
"""

from __future__ import annotations

import time

#: Rest after a transaction, as a multiple of the time since the last rest.
REST_RATIO = 1.0


class WritePacer:
    """Call ``rest()`` after each transaction of a background pass."""

    def __init__(self, ratio: float = REST_RATIO) -> None:
        self._ratio = ratio
        self._since = time.perf_counter()
        self.rested = 0.0  # seconds slept so far (for the pass's own accounting and tests)

    def rest(self) -> None:
        pause = (time.perf_counter() - self._since) * self._ratio
        if pause > 0:
            time.sleep(pause)
            self.rested += pause
        self._since = time.perf_counter()

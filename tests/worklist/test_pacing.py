"""Background passes rest between transactions in proportion to each one's time."""

from __future__ import annotations

import time

from worklist.pacing import WritePacer


def _work(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_each_rest_is_as_long_as_the_work_since_the_last_one() -> None:
    pacer = WritePacer(ratio=1.0)
    _work(0.02)
    pacer.rest()
    first = pacer.rested
    assert first >= 0.02
    _work(0.01)
    pacer.rest()
    second = pacer.rested - first
    # counted from the end of the first rest: counted from the start it would be over
    # 0.02 + first + 0.01
    assert 0.01 <= second < 0.01 + first


def test_a_zero_ratio_never_sleeps() -> None:
    pacer = WritePacer(ratio=0.0)
    _work(0.01)
    pacer.rest()
    assert pacer.rested == 0.0

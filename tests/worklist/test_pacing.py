"""Background passes rest between transactions in proportion to each one's time."""

from __future__ import annotations

import pytest

from worklist.pacing import paced, paced_chunks


class _Clock:
    """A clock the test moves by hand, and a sleep that records instead of waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_each_rest_matches_the_work_on_the_chunk_before_and_none_follows_the_last() -> None:
    clock = _Clock()
    work = {"a": 0.02, "b": 0.01, "c": 0.05}
    for chunk in paced(["a", "b", "c"], ratio=1.0, clock=clock, sleep=clock.sleep):
        clock.now += work[chunk]
    assert clock.slept == pytest.approx([0.02, 0.01])


def test_the_ratio_scales_the_rest_and_zero_never_sleeps() -> None:
    half = _Clock()
    for _ in paced(range(3), ratio=0.5, clock=half, sleep=half.sleep):
        half.now += 0.04
    assert half.slept == pytest.approx([0.02, 0.02])
    never = _Clock()
    assert list(paced(range(3), ratio=0.0, clock=never, sleep=never.sleep)) == [0, 1, 2]
    assert never.slept == []


def test_chunks_come_in_order_a_size_at_a_time_and_rest_between() -> None:
    clock = _Clock()
    seen = []
    for chunk in paced_chunks(list(range(7)), 3, clock=clock, sleep=clock.sleep):
        seen.append(list(chunk))
        clock.now += 0.01 * len(chunk)
    assert seen == [[0, 1, 2], [3, 4, 5], [6]]
    assert clock.slept == pytest.approx([0.03, 0.03])

"""The per-process memory of assignments handed out: bounded, and each taken once."""

from __future__ import annotations

from worklist.reporting.open_assignments import KnownAssignment, OpenAssignments


def _known(uid: str) -> KnownAssignment:
    return KnownAssignment("r1", "wm", uid, 1, 1.0, "core", "radiologist")


def test_the_oldest_are_forgotten_past_the_limit_and_each_is_taken_once() -> None:
    remembered = OpenAssignments(limit=2)
    for n in (1, 2, 3):
        remembered.remember(f"a{n}", _known(f"1.{n}"))
    assert len(remembered) == 2
    assert remembered.take("a1") is None  # the oldest went when the third arrived
    taken = remembered.take("a3")
    assert taken is not None and taken.study_uid == "1.3"
    assert remembered.take("a3") is None  # a second attempt looks it up as any other would
    assert len(remembered) == 1

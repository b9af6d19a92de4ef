"""The load run's shape and the thresholds it must meet: the one place to change either.

Target (issue 7): 500 reporters in sessions and ingest at ten times a network's peak rate, with
``POST /api/v1/worklist/next`` p99 <= 50 ms and no errors, on this 2-core machine.
"""

from __future__ import annotations

# -- the shape of the load ------------------------------------------------------------------
REPORTERS = 500  # concurrent reporters, each in a session pulling cases
FEED_USERS = 2  # PACS feeds posting batches
OPS_USERS = 4  # operations dashboards being polled
LEAD_USERS = 2  # network-lead dashboards being polled
RUN_SECONDS = 90  # bounded: the machine is shared
SPAWN_PER_SECOND = 50  # 500 reporters join over 10 s
# Locust starts each second's 50 users in the same instant; each reporter's first pull waits a
# random part of that second, as people do, instead of 50 pulls landing in one millisecond
# (that herd, not the service, set the p99: docs/load.md, 2 Dec).
FIRST_PULL_SPREAD_SECONDS = 1.0
BACKLOG = 20_000  # studies waiting when the run starts, so 500 reporters always find work
SETTLE_SECONDS = 12  # after seeding: the sweeper's first passes widen the backlog's overdue work

# A 15,000-study-a-day network peaks at ~0.37 studies/s (the simulator's daily curve, 10:00);
# the target is ten times that, in batches as a PACS feed delivers them.
NETWORK_STUDIES_PER_DAY = 15_000
PEAK_STUDIES_PER_SECOND = 0.373
PEAK_MULTIPLIER = 10
FEED_BATCH_SECONDS = 5.0

# Reading is scaled down: 3 minutes per work unit in life, 60x faster here (3 s per work unit),
# so each reporter pulls every few seconds instead of every few minutes.
READ_SECONDS_PER_WORK_UNIT = 3.0
READ_SCALE = 60
SERVER_KEEP_ALIVE_SECONDS = 5.0  # uvicorn's default keep-alive timeout
HAND_BACK_SHARE = 0.05  # cases handed back with a reason instead of completed
IDLE_RETRY_SECONDS = 5.0  # after a 204 (nothing eligible), try again later
OPS_POLL_SECONDS = 10.0
LEAD_POLL_SECONDS = 30.0

# -- what must hold ---------------------------------------------------------------------------
NEXT_NAME = "POST /api/v1/worklist/next"
P99_MS: dict[str, float] = {NEXT_NAME: 50.0}  # hard: the run fails when missed
MAX_ERROR_RATE = 0.0  # hard: share of failed requests over every request
# soft: reported next to the table, never fail the run
SOFT_P99_MS: dict[str, float] = {
    "POST /api/v1/assignments/{id}/complete": 100.0,
    "POST /api/v1/studies (batch)": 500.0,
    "GET /api/v1/dashboards/turnaround": 1000.0,
}


def feed_studies_per_second() -> float:
    """The ingest rate the feeds offer together."""
    return PEAK_STUDIES_PER_SECOND * PEAK_MULTIPLIER

"""A reporter in a session (the runner opened it): pull the next case, read it for a (scaled)
while, complete it or now and then hand it back with a reason; after a 204 wait and retry."""

from __future__ import annotations

import random
import time

from locust import FastHttpUser, constant, task

from load_tests import thresholds as t
from load_tests.scenarios.context import bearer, context, next_reporter_token, reconnect

REASONS = ("outside my competence", "needs prior imaging", "end of session")


class ReporterUser(FastHttpUser):
    """One of the network's reporters working through their worklist."""

    wait_time = constant(0)
    weight = 100

    def on_start(self) -> None:
        self.headers = bearer(next_reporter_token())
        self.rng = random.Random()
        self.in_session = True  # the runner opened every session before the load
        time.sleep(self.rng.uniform(0.0, t.FIRST_PULL_SPREAD_SECONDS))

    def _start_session(self) -> None:
        with self.client.post(
            "/api/v1/sessions", json={"kind": "core"}, headers=self.headers, catch_response=True
        ) as response:
            if response.status_code in (201, 409):  # 409: already in a session
                response.success()
                self.in_session = True

    def _idle(self, seconds: float) -> None:
        time.sleep(seconds)
        if seconds >= t.SERVER_KEEP_ALIVE_SECONDS - 0.5:
            reconnect(self)

    def _back_off(self) -> None:
        self._idle(t.IDLE_RETRY_SECONDS * self.rng.uniform(0.5, 1.5))

    @task
    def next_case(self) -> None:
        if not self.in_session:  # a failed start (already counted): back off, then retry
            self._back_off()
            self._start_session()
            return
        with self.client.post(
            "/api/v1/worklist/next", headers=self.headers, name=t.NEXT_NAME, catch_response=True
        ) as response:
            if response.status_code == 204:
                response.success()
                self._back_off()
                return
            if response.status_code != 200:
                response.failure(f"next: {response.status_code}")
                self.in_session = response.status_code != 409
                self._back_off()
                return
            body = response.json()
        units = float(body["study"].get("work_units") or 1.0)
        per_unit = float(context().get("read_seconds_per_wu", t.READ_SECONDS_PER_WORK_UNIT))
        reading = units * per_unit * self.rng.uniform(0.6, 1.4)
        assignment = body["assignment_id"]
        handing_back = self.rng.random() < t.HAND_BACK_SHARE
        reading = reading / 3 if handing_back else reading
        self._idle(reading)
        if handing_back:
            self.client.post(
                f"/api/v1/assignments/{assignment}/release",
                json={"reason": self.rng.choice(REASONS)},
                headers=self.headers,
                name="POST /api/v1/assignments/{id}/release",
            )
        else:
            self.client.post(
                f"/api/v1/assignments/{assignment}/complete",
                headers=self.headers,
                name="POST /api/v1/assignments/{id}/complete",
            )

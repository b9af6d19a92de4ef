"""Operations and network-lead dashboards being polled, as their pages do."""

from __future__ import annotations

from locust import FastHttpUser, constant_pacing, task

from load_tests import thresholds as t
from load_tests.scenarios.context import bearer, context, reconnect


class OpsUser(FastHttpUser):
    """The turnaround view and the list of what is waiting."""

    fixed_count = t.OPS_USERS
    wait_time = constant_pacing(t.OPS_POLL_SECONDS)

    def on_start(self) -> None:
        self.headers = bearer(context()["ops"])

    @task(3)
    def turnaround(self) -> None:
        reconnect(self)  # polled seconds apart: the idle connection is gone
        self.client.get("/api/v1/dashboards/turnaround", headers=self.headers)

    @task(1)
    def waiting(self) -> None:
        reconnect(self)  # polled seconds apart: the idle connection is gone
        self.client.get(
            "/api/v1/studies?status=unreported&limit=100",
            headers=self.headers,
            name="GET /api/v1/studies?status=unreported",
        )


class LeadUser(FastHttpUser):
    """Reporting share and sourcing for the month."""

    fixed_count = t.LEAD_USERS
    wait_time = constant_pacing(t.LEAD_POLL_SECONDS)

    def on_start(self) -> None:
        self.headers = bearer(context()["lead"])

    @task
    def share_and_sourcing(self) -> None:
        reconnect(self)  # polled seconds apart: the idle connection is gone
        self.client.get("/api/v1/dashboards/reporting-share", headers=self.headers)
        self.client.get("/api/v1/dashboards/sourcing", headers=self.headers)

"""A PACS feed delivering studies in batches at its share of the target ingest rate."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from locust import FastHttpUser, constant_pacing, task

from load_tests import thresholds as t
from load_tests.scenarios.context import bearer, context, reconnect


class FeedUser(FastHttpUser):
    """Posts a batch every ``FEED_BATCH_SECONDS``; the feeds together offer ten times peak."""

    fixed_count = t.FEED_USERS
    wait_time = constant_pacing(t.FEED_BATCH_SECONDS)

    def on_start(self) -> None:
        self.headers = bearer(context()["feed"])
        self.seed = random.randrange(10**9)
        per_feed = t.feed_studies_per_second() / t.FEED_USERS
        self.batch = max(1, round(per_feed * t.FEED_BATCH_SECONDS))

    @task
    def deliver(self) -> None:
        reconnect(self)  # paced 5 s apart: the server has closed the idle connection
        from connectors.simulator import generate_studies

        self.seed += 1
        studies = generate_studies(
            self.batch,
            context()["sites"],
            datetime.now(UTC) - timedelta(minutes=10),
            seed=self.seed,
        )
        with self.client.post(
            "/api/v1/studies",
            json=studies,
            headers=self.headers,
            name="POST /api/v1/studies (batch)",
            catch_response=True,
        ) as response:
            if response.status_code == 200 and response.json()["rejected"]:
                response.failure(f"rejected: {response.json()['rejected'][:2]}")

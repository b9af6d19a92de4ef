"""The one way connectors deliver: batches POSTed to the worklist API with a feed token.

Connection errors and 5xx answers are retried with exponential backoff (the service may be
restarting); 4xx answers are never retried, since resending the same request cannot help.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any, TypedDict

import httpx

from connectors.jsonlog import log

STUDIES = "/api/v1/studies"
ORDERS = "/api/v1/orders"
REPORTS = "/api/v1/reports"


class Rejection(TypedDict):
    """One item the API refused, by its index in the batch as sent by the caller."""

    index: int
    error: str


class IngestResult(TypedDict):
    """The API's answer to an ingest call, summed over every chunk of the batch."""

    created: int
    updated: int
    rejected: list[Rejection]


class DeliveryError(Exception):
    """The service could not be reached or kept failing (5xx) after every retry."""


class DeliveryRejected(Exception):
    """The service refused the whole request (4xx): bad token, wrong role, malformed body."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body

    @property
    def is_auth(self) -> bool:
        """True for 401/403: a configuration problem, not a problem with the items."""
        return self.status in (401, 403)


class FeedClient:
    """Posts batches to the ingest endpoints; one instance per connector process."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        batch_size: int = 500,
        max_attempts: int = 6,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=self.api_url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "worklist-connector/1"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> FeedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post_studies(self, items: Sequence[dict[str, Any]]) -> IngestResult:
        return self.post(STUDIES, items)

    def post_orders(self, items: Sequence[dict[str, Any]]) -> IngestResult:
        return self.post(ORDERS, items)

    def post_reports(self, items: Sequence[dict[str, Any]]) -> IngestResult:
        return self.post(REPORTS, items)

    def post(self, path: str, items: Sequence[dict[str, Any]]) -> IngestResult:
        """POST ``items`` in chunks of ``batch_size``; rejection indexes refer to ``items``."""
        total: IngestResult = {"created": 0, "updated": 0, "rejected": []}
        for start in range(0, len(items), self.batch_size):
            chunk = list(items[start : start + self.batch_size])
            answer = self._post_chunk(path, chunk)
            total["created"] += int(answer.get("created", 0))
            total["updated"] += int(answer.get("updated", 0))
            for rej in answer.get("rejected", []) or []:
                total["rejected"].append(
                    {"index": start + int(rej.get("index", 0)), "error": str(rej.get("error"))}
                )
        return total

    def _post_chunk(self, path: str, chunk: list[dict[str, Any]]) -> dict[str, Any]:
        delay = self.backoff
        last_error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._client.post(path, json=chunk)
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 300:
                    body = response.json()
                    if not isinstance(body, dict):
                        raise DeliveryError(f"unexpected answer from {path}: {body!r:.200}")
                    return body
                if response.status_code < 500:
                    raise DeliveryRejected(response.status_code, response.text)
                last_error = f"HTTP {response.status_code}: {response.text[:200]}"
            if attempt == self.max_attempts:
                break
            log(
                "delivery_retry",
                level=30,
                path=path,
                attempt=attempt,
                error=last_error,
                wait_s=round(delay, 2),
            )
            self._sleep(delay * (0.8 + 0.4 * random.random()))
            delay = min(delay * 2, self.max_backoff)
        raise DeliveryError(f"{path}: gave up after {self.max_attempts} attempts: {last_error}")

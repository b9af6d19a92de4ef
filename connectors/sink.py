"""Deliver a batch and deal with what the API refused: quarantine it, log it, keep going.

Returns normally when the service has answered for every item (so the caller may advance its
cursor); raises :class:`~connectors.delivery.DeliveryError` when it could not be reached (so
the caller keeps its cursor and tries again later).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.delivery import DeliveryRejected, FeedClient, Rejection
from connectors.jsonlog import log
from connectors.state import Quarantine


@dataclass
class Outcome:
    """What happened to one delivered batch."""

    created: int = 0
    updated: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.updated

    def add(self, other: Outcome) -> None:
        self.created += other.created
        self.updated += other.updated
        self.rejected.extend(other.rejected)


class Sink:
    """Delivers items of one kind (studies, orders or reports) for one connector."""

    def __init__(self, client: FeedClient, quarantine: Quarantine, source: str) -> None:
        self.client = client
        self.quarantine = quarantine
        self.source = source

    def studies(self, items: Sequence[dict[str, Any]]) -> Outcome:
        return self.deliver("/api/v1/studies", items)

    def orders(self, items: Sequence[dict[str, Any]]) -> Outcome:
        return self.deliver("/api/v1/orders", items)

    def reports(self, items: Sequence[dict[str, Any]]) -> Outcome:
        return self.deliver("/api/v1/reports", items)

    def deliver(self, path: str, items: Sequence[dict[str, Any]]) -> Outcome:
        """POST the items; quarantine each refused one with the API's reason."""
        if not items:
            return Outcome()
        try:
            result = self.client.post(path, items)
        except DeliveryRejected as exc:
            if exc.is_auth:
                raise
            # The whole request was refused (e.g. 422): no item went in; keep each aside.
            rejected: list[Rejection] = [
                {"index": i, "error": f"request refused: HTTP {exc.status}: {exc.body[:300]}"}
                for i in range(len(items))
            ]
            result = {"created": 0, "updated": 0, "rejected": rejected}
        outcome = Outcome(result["created"], result["updated"], list(result["rejected"]))
        for rej in outcome.rejected:
            index = rej["index"]
            item = items[index] if 0 <= index < len(items) else None
            self.quarantine.add(
                self.source, f"rejected by the service: {rej['error']}", item, endpoint=path
            )
        log(
            "delivered",
            source=self.source,
            endpoint=path,
            sent=len(items),
            created=outcome.created,
            updated=outcome.updated,
            rejected=len(outcome.rejected),
        )
        return outcome

"""Prometheus metrics, one registry per app (built in the factory, not at import)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

QueueRows = Callable[[], Iterable[tuple[str, str, str, int, float]]]
BreachRows = Callable[[], Iterable[tuple[str, str, str, int]]]


class QueueDepthCollector(Collector):
    """Waiting studies and oldest age by site, modality and urgency, read at scrape time."""

    def __init__(self, rows: QueueRows) -> None:
        self._rows = rows

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "worklist_queue_depth", "Waiting studies", labels=["site", "modality", "urgency"]
        )
        oldest = GaugeMetricFamily(
            "worklist_queue_oldest_seconds",
            "Age of the oldest waiting study",
            labels=["site", "modality", "urgency"],
        )
        for site, modality, urgency, count, age in self._rows():
            depth.add_metric([site, modality, urgency], count)
            oldest.add_metric([site, modality, urgency], age)
        yield depth
        yield oldest


class BreachCollector(Collector):
    """Studies waiting past their due time by site, modality and urgency, read at scrape time."""

    def __init__(self, rows: BreachRows) -> None:
        self._rows = rows

    def collect(self) -> Iterator[GaugeMetricFamily]:
        breached = GaugeMetricFamily(
            "worklist_breached_waiting",
            "Studies not yet reported whose due time has passed",
            labels=["site", "modality", "urgency"],
        )
        for site, modality, urgency, count in self._rows():
            breached.add_metric([site, modality, urgency], count)
        yield breached


class Metrics:
    """The service's metrics; labels are bounded (no study or patient ids)."""

    def __init__(self, queue_rows: QueueRows, breach_rows: BreachRows | None = None) -> None:
        self.registry = CollectorRegistry()
        self.next_seconds = Histogram(
            "worklist_next_seconds",
            "Latency of POST /api/v1/worklist/next",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=self.registry,
        )
        self.claims = Counter(
            "worklist_claims", "Cases handed out", ["via"], registry=self.registry
        )
        self.completions = Counter(
            "worklist_completions", "Cases reported through the balancer", registry=self.registry
        )
        self.releases = Counter(
            "worklist_releases", "Cases handed back by reporters", registry=self.registry
        )
        self.lease_expiries = Counter(
            "worklist_lease_expiries", "Leases that ran out", registry=self.registry
        )
        self.ingested = Counter(
            "worklist_ingested", "Items accepted by ingest", ["kind"], registry=self.registry
        )
        self.rejected = Counter(
            "worklist_rejected", "Items rejected by ingest", ["kind"], registry=self.registry
        )
        self.outsourced = Counter(
            "worklist_outsourced",
            "Studies sent to an outsourcing provider",
            ["site", "modality", "provider"],
            registry=self.registry,
        )
        self.outsourced_cost = Counter(
            "worklist_outsourced_cost_pounds",
            "Provider price of the studies sent out (GBP, from the provider's price list)",
            ["site", "provider"],
            registry=self.registry,
        )
        self.registry.register(QueueDepthCollector(queue_rows))
        if breach_rows is not None:
            self.registry.register(BreachCollector(breach_rows))

    def count_sweep(self, done: dict[str, int]) -> None:
        """A sweeper pass: leases it expired (directly or by reconciling with Redis)."""
        self.lease_expiries.inc(done.get("expired", 0) + done.get("reconciled", 0))

    def record_outsourced(
        self, site: str, modality: str, provider: str, price: float | None
    ) -> None:
        """One study sent out; its price (when the provider lists one) adds to the cost."""
        self.outsourced.labels(site=site, modality=modality, provider=provider).inc()
        if price:
            self.outsourced_cost.labels(site=site, provider=provider).inc(price)

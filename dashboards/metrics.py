"""Prometheus metrics, one registry per app (built in the factory, not at import)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

QueueRows = Callable[[], Iterable[tuple[str, str, str, int, float]]]


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


class Metrics:
    """The service's metrics; labels are bounded (no study or patient ids)."""

    def __init__(self, queue_rows: QueueRows) -> None:
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
        self.registry.register(QueueDepthCollector(queue_rows))

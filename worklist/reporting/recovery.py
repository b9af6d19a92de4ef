"""Rebuild every Redis structure of a network from the SQL system of record."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session, col, select

from allocator.types import QueuedStudy, ReporterProfile, SessionKind
from worklist.models import Assignment, Reporter, ReporterSession, Study
from worklist.reference.profiles import profile_of
from worklist.services import Services, now_ms
from worklist.studies.queueing import to_queued

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NetworkRecord:
    """What SQL says Redis should hold for a network, read at one moment."""

    profiles: list[ReporterProfile]
    sessions: dict[str, SessionKind]
    waiting: list[QueuedStudy]
    leases: list[tuple[QueuedStudy, str, int]]

    def counts(self) -> dict[str, int]:
        return {
            "reporters": len(self.profiles),
            "sessions": len(self.sessions),
            "waiting": len(self.waiting),
            "leases": len(self.leases),
        }


def rebuild_network(services: Services, network: str, *, replace: bool = True) -> dict[str, int]:
    """Restore the network's reporters, sessions, queue and leases in Redis: after a reset
    (``replace``, an operator's rebuild), or adding only what Redis lacks (beside traffic)."""
    record = read_network(services, network)
    services.allocator(network).rebuild(
        record.profiles,
        record.sessions,
        record.waiting,
        record.leases,
        now_ms(),
        replace=replace,
    )
    counts = record.counts()
    log.info("rebuilt allocator state", extra={"network": network, "replace": replace, **counts})
    return counts


def read_network(services: Services, network: str) -> NetworkRecord:
    """The network's active reporters, open sessions, waiting studies and live leases."""
    with Session(services.engine) as db:
        reporters = db.exec(
            select(Reporter).where(Reporter.network == network, col(Reporter.active).is_(True))
        ).all()
        profiles = [profile_of(r) for r in reporters]
        ids = [r.id for r in reporters]
        sessions: dict[str, SessionKind] = {
            s.reporter_id: s.kind  # type: ignore[misc]
            for s in db.exec(
                select(ReporterSession).where(
                    col(ReporterSession.reporter_id).in_(ids),
                    col(ReporterSession.ended_at).is_(None),
                )
            ).all()
        }
        waiting = [
            to_queued(s.model_dump())
            for s in db.exec(
                select(Study).where(Study.network == network, Study.status == "unreported")
            ).all()
        ]
        leases = [
            (
                to_queued(study.model_dump()),
                a.reporter_id,
                int(a.lease_expires_at.timestamp() * 1000),
            )
            for a, study in db.exec(
                select(Assignment, Study)
                .join(Study, col(Study.id) == col(Assignment.study_id))
                .where(
                    Study.network == network,
                    Study.status == "claimed",
                    col(Assignment.outcome).is_(None),
                )
            ).all()
        ]
    return NetworkRecord(profiles, sessions, waiting, leases)

"""Rebuild every Redis structure of a network from the SQL system of record."""

from __future__ import annotations

import logging

from sqlmodel import Session, col, select

from allocator.types import SessionKind
from worklist.models import Assignment, Reporter, ReporterSession, Study
from worklist.reference.profiles import profile_of
from worklist.services import Services, now_ms
from worklist.studies.queueing import to_queued

log = logging.getLogger(__name__)


def rebuild_network(services: Services, network: str) -> dict[str, int]:
    """Reset the network's Redis state and restore reporters, sessions, queue and leases."""
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
    services.allocator(network).rebuild(profiles, sessions, waiting, leases, now_ms())
    counts = {
        "reporters": len(profiles),
        "sessions": len(sessions),
        "waiting": len(waiting),
        "leases": len(leases),
    }
    log.info("rebuilt allocator state", extra={"network": network, **counts})
    return counts


def rebuild_if_empty(services: Services) -> list[str]:
    """At start-up: rebuild each network whose Redis state is missing (e.g. after a restart)."""
    rebuilt = []
    for network in services.networks():
        if services.allocator(network).is_empty():
            rebuild_network(services, network)
            rebuilt.append(network)
    return rebuilt

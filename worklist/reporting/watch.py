"""Notice that Redis lost the allocator's state and rebuild it from SQL, with no operator.

Redis holds only derived state. When it restarts without persistence (or fails over to an
empty replica) every network's keys are gone, and pulls would answer "not in a session" until
someone ran `worklist allocator rebuild`. Each sweeper pass calls :func:`restore_lost_state`:
a marker key, in the network's hash slot, says the state there was built or vouched for; when
the marker is missing, the network is rebuilt (one process at a time) and marked again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from allocator.keys import NetworkKeys
from worklist.models import Study
from worklist.reporting.recovery import rebuild_network
from worklist.services import Services, utcnow
from worklist.studies.queueing import enqueue_and_audit

log = logging.getLogger(__name__)
LOCK_SECONDS = 300
CATCH_UP_MARGIN = timedelta(seconds=5)
CHECKED = "_restore_checked"  # attribute on the Services: networks checked at least once


def marker_keys(network: str) -> tuple[str, str]:
    """(marker, rebuild lock): same ``{network}`` hash tag, so same shard as the state."""
    keys = NetworkKeys(network)
    return keys.restored, keys.rebuilding


def restore_lost_state(services: Services) -> list[str]:
    """Rebuild each network whose marker is gone; returns the networks rebuilt.

    The first check of a network in a process only marks it (start-up already rebuilt an
    empty Redis); after that a missing marker means Redis lost the state.
    """
    rebuilt = []
    checked: set[str] = vars(services).setdefault(CHECKED, set())
    for network in services.networks():
        marker, lock = marker_keys(network)
        first = network not in checked
        checked.add(network)
        if services.redis.exists(marker):
            continue
        if first:
            # Start-up already rebuilt an empty Redis (the app's lifespan); rebuilding again
            # here would race with the traffic that has started since. Vouch for it instead.
            services.redis.set(marker, utcnow().isoformat())
            continue
        if not services.redis.set(lock, "1", nx=True, ex=LOCK_SECONDS):
            continue  # another process is rebuilding it
        try:
            started = utcnow()
            counts = rebuild_network(services, network)
            caught_up = _catch_up(services, network, started - CATCH_UP_MARGIN)
            services.redis.set(marker, started.isoformat())
            log.warning(
                "redis had lost the allocator state: rebuilt from the database",
                extra={"network": network, **counts, "caught_up": caught_up},
            )
            rebuilt.append(network)
        finally:
            services.redis.delete(lock)
    return rebuilt


def _catch_up(services: Services, network: str, since: datetime) -> int:
    """Index again the waiting studies written while the rebuild ran (enqueue is idempotent)."""
    with Session(services.engine) as db:
        rows = [
            (s.id, s.model_dump())
            for s in db.exec(
                select(Study).where(
                    Study.network == network,
                    Study.status == "unreported",
                    col(Study.updated_at) >= since,
                )
            ).all()
        ]
    if rows:
        with services.engine.begin() as conn:
            enqueue_and_audit(services, conn, rows)  # type: ignore[arg-type]
    return len(rows)

"""Notice that Redis lost the allocator's state and rebuild it from SQL, with no operator.

Redis holds only derived state. When it restarts without persistence (or fails over to an
empty replica) every network's keys are gone, and pulls would answer "not in a session" until
someone ran `worklist allocator rebuild`. Each sweeper pass calls :func:`restore_lost_state`:
a marker key, in the network's hash slot, says the state there was built or vouched for; when
the marker is missing, the network is rebuilt (one process at a time) and marked again.
"""

from __future__ import annotations

import logging

from allocator.keys import NetworkKeys
from worklist.reporting.recovery import rebuild_network
from worklist.services import Services, utcnow

log = logging.getLogger(__name__)
LOCK_SECONDS = 300
CHECKED = "_restore_checked"  # attribute on the Services: networks checked at least once


def marker_keys(network: str) -> tuple[str, str]:
    """(marker, rebuild lock): same ``{network}`` hash tag, so same shard as the state."""
    keys = NetworkKeys(network)
    return keys.restored, keys.rebuilding


def rebuild_if_empty(services: Services) -> list[str]:
    """At start-up: add back each network whose Redis state is missing (e.g. Redis restarted
    while the service was down); returns the networks rebuilt.

    Another worker or replica may already be serving the network -- a new network is empty
    too -- so this is the additive rebuild, one process at a time, like the sweeper's.
    """
    return [
        network
        for network in services.networks()
        if services.allocator(network).is_empty() and _rebuild_alone(services, network)
    ]


def restore_lost_state(services: Services) -> list[str]:
    """Rebuild each network whose marker is gone; returns the networks rebuilt.

    The first check of a network in a process only marks it (start-up already rebuilt an
    empty Redis); after that a missing marker means Redis lost the state.
    """
    rebuilt = []
    checked: set[str] = vars(services).setdefault(CHECKED, set())
    for network in services.networks():
        marker, _ = marker_keys(network)
        first = network not in checked
        checked.add(network)
        if services.redis.exists(marker):
            continue
        if first:
            # Start-up already rebuilt an empty Redis (the app's lifespan). Vouch for it.
            services.redis.set(marker, utcnow().isoformat())
            continue
        if _rebuild_alone(services, network):
            log.warning(
                "redis had lost the allocator state: rebuilt from the database",
                extra={"network": network},
            )
            rebuilt.append(network)
    return rebuilt


def _rebuild_alone(services: Services, network: str) -> bool:
    """Add back what Redis lacks of a network, unless another process is doing it now; then
    mark the state as built. Traffic goes on meanwhile: the additive rebuild never
    overwrites what traffic writes."""
    marker, lock = marker_keys(network)
    if not services.redis.set(lock, "1", nx=True, ex=LOCK_SECONDS):
        return False  # another process is rebuilding it
    try:
        started = utcnow()
        rebuild_network(services, network, replace=False)
        services.redis.set(marker, started.isoformat())
        return True
    finally:
        services.redis.delete(lock)

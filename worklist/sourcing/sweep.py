"""The sourcing part of the sweeper: predictions and the outsourcing policy at most once per
``prediction_interval_seconds`` per network (a Redis gate shared by every replica), and order
delivery retries on every pass."""

from __future__ import annotations

from datetime import datetime

from worklist.predictions.compute import compute_network
from worklist.services import Services
from worklist.sourcing.orders import retry_pending
from worklist.sourcing.policy import apply_policy


def gate_key(network: str) -> str:
    return f"worklist:{{{network}}}:predict-gate"


def sourcing_pass(services: Services, now: datetime, force: bool = False) -> dict[str, int]:
    """Predict and apply the policy where due; retry undelivered orders."""
    done = {"predicted": 0, "recommended": 0, "auto_outsourced": 0, "orders_retried": 0}
    interval_ms = int(services.settings.prediction_interval_seconds * 1000)
    for network in services.networks():
        if not force and not services.redis.set(gate_key(network), "1", nx=True, px=interval_ms):
            continue
        done["predicted"] += len(compute_network(services, network, now))
        acted = apply_policy(services, network, now)
        done["recommended"] += acted["recommended"]
        done["auto_outsourced"] += acted["sent"]
    done["orders_retried"] = retry_pending(services, now)
    return done

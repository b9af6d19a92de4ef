"""The sourcing part of the sweeper: predictions and the outsourcing policy at most once per
``prediction_interval_seconds`` per network (a Redis gate shared by every replica), and order
delivery retries on every pass."""

from __future__ import annotations

import time
from datetime import datetime

from allocator.keys import NetworkKeys
from worklist.predictions.compute import compute_network
from worklist.predictions.store import record_pass
from worklist.services import Services
from worklist.sourcing.orders import retry_pending
from worklist.sourcing.policy import apply_policy


def sourcing_pass(services: Services, now: datetime, force: bool = False) -> dict[str, int]:
    """Predict and apply the policy where due; retry undelivered orders."""
    done = {"predicted": 0, "recommended": 0, "auto_outsourced": 0, "orders_retried": 0}
    interval_ms = int(services.settings.prediction_interval_seconds * 1000)
    for network in services.networks():
        gate = NetworkKeys(network).predict_gate
        if not force and not services.redis.set(gate, "1", nx=True, px=interval_ms):
            continue
        started = time.perf_counter()
        predicted, written = compute_network(services, network, now)
        acted = apply_policy(services, network, now)
        record_pass(
            services.engine,
            network,
            {
                "computed_at": now,
                "studies": len(predicted),
                "breaching": sum(p.breach for p in predicted),
                "rows_written": written.rows_written,
                "rows_removed": written.rows_removed,
                "recommended": acted["recommended"],
                "sent": acted["sent"],
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        done["predicted"] += len(predicted)
        done["recommended"] += acted["recommended"]
        done["auto_outsourced"] += acted["sent"]
    done["orders_retried"] = retry_pending(services, now)
    return done

"""Low-latency allocation core on Redis: eligibility, ranking, atomic claim, leases, push."""

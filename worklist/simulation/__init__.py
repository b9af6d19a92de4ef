"""What-if simulation: replay a day or a week of demand against a roster of sessions.

The balancer's own allocator (``allocator.engine.Allocator`` on a real Redis) runs in simulated
time next to two baseline policies, so a network can see what allocation buys before going live.
"""

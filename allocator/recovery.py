"""Deleting one network's keys (the first half of a rebuild from the system of record)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from allocator.keys import NetworkKeys


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def delete_network(client: Any, keys: NetworkKeys, head_lists: Iterable[str]) -> None:
    """Delete every key of the network: the fixed ones, every reporter plan, every heads
    list, and (belt and braces) anything else under its hash-tagged prefix."""
    names = set(keys.fixed())
    names |= {keys.plan(r) for r in client.hkeys(keys.profiles)}
    names |= {keys.heads(h) for h in head_lists}
    names |= set(client.scan_iter(match=_glob_escape(keys.base) + "*", count=1000))
    for name in sorted(names):
        client.delete(name)

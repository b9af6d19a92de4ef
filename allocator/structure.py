"""The network's structure -- profiles, scope entries, buckets, reporter plans -- as a
Python snapshot of one epoch, and the optimistic commit of changes to it.

Structural changes are rare (an admin edits a reporter, a study lands in a new signature);
each is computed from a snapshot and committed by ``commit.lua`` only if the epoch has not
moved, so concurrent API replicas never write plans computed from a stale view.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from allocator.codec import profile_from_json, profile_to_json
from allocator.eligibility import (
    BucketMeta,
    entry_from_json,
    entry_to_json,
    plan_rows,
    profile_entry_ids,
)
from allocator.keys import NetworkKeys
from allocator.scripts import Scripts
from allocator.types import ReporterProfile, ScopeEntry


def walk_lists(profile: ReporterProfile) -> str:
    """The heads lists a reporter's claim walks (tab-joined): their scope entries' lists, or
    every bucket (``*``) when they have no entries -- unless a radiographer, who then has none.
    """
    if profile.scope:
        return "\t".join(sorted(profile_entry_ids(profile)))
    return "" if profile.group == "radiographer" else "*"


class StaleEpoch(Exception):
    """The structure changed under us: refresh the snapshot and recompute."""


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[0::2], flat[1::2], strict=True))


@dataclass
class Structure:
    """One epoch's profiles, scope entries and buckets."""

    epoch: str
    profiles: dict[str, ReporterProfile] = field(default_factory=dict)
    entries: dict[str, ScopeEntry] = field(default_factory=dict)
    buckets: dict[str, BucketMeta] = field(default_factory=dict)

    @staticmethod
    def load(scripts: Scripts, keys: NetworkKeys) -> Structure:
        epoch, profiles, entries, buckets = scripts.run(
            "snapshot", [keys.epoch, keys.profiles, keys.entries, keys.buckets], []
        )
        return Structure(
            epoch=str(epoch),
            profiles={k: profile_from_json(v) for k, v in _pairs(profiles).items()},
            entries={k: entry_from_json(v) for k, v in _pairs(entries).items()},
            buckets={k: BucketMeta.from_json(v) for k, v in _pairs(buckets).items()},
        )

    def plan_json(self, profile: ReporterProfile) -> dict[str, object]:
        """A reporter's plan: radiographer flag and eligible bucket rows."""
        rows = plan_rows(profile, self.buckets.items())
        return {"rg": profile.group == "radiographer", "lists": walk_lists(profile), "b": rows}

    @property
    def head_lists(self) -> list[str]:
        """Every heads list: ``*`` and one per scope entry."""
        return ["*", *sorted(self.entries)]

    def eligible_reporters(self, meta: BucketMeta) -> list[str]:
        """Everyone (on duty or not) who may report a bucket's studies -- push candidates."""
        return sorted(rid for rid, p in self.profiles.items() if plan_rows(p, [("x", meta)]))

    def commit(
        self,
        scripts: Scripts,
        keys: NetworkKeys,
        *,
        profiles: Mapping[str, ReporterProfile | None] | None = None,
        entries: Mapping[str, ScopeEntry] | None = None,
        buckets: Mapping[str, BucketMeta] | None = None,
        replan: Iterable[str] = (),
    ) -> Structure:
        """Apply the change atomically if the epoch is unchanged; returns the new snapshot
        (this one is never mutated, so other threads may keep reading it).

        ``replan`` names reporters whose plan to rewrite from the resulting structure; every
        other reporter's plan gains the new buckets they may report.
        Raises StaleEpoch when someone else changed the structure first.
        """
        profiles = dict(profiles or {})
        entries = dict(entries or {})
        buckets = dict(buckets or {})
        nxt = Structure(
            epoch=self.epoch,
            profiles={**self.profiles},
            entries={**self.entries, **entries},
            buckets={**self.buckets, **buckets},
        )
        for rid, prof in profiles.items():
            if prof is None:
                nxt.profiles.pop(rid, None)
            else:
                nxt.profiles[rid] = prof
        rids = sorted(set(replan) | set(profiles))
        # reporters whose plan only gains the new buckets get just those rows
        extend: list[list[object]] = []
        if buckets:
            for rid, prof in sorted(nxt.profiles.items()):
                if rid not in rids:
                    rows = plan_rows(prof, buckets.items())
                    if rows:
                        extend.append([rid, rows])
        plans: list[list[object]] = []
        for rid in rids:
            prof = nxt.profiles.get(rid)
            plans.append([rid, nxt.plan_json(prof) if prof is not None else False])
        payload = {
            "profiles": {r: (profile_to_json(p) if p else False) for r, p in profiles.items()},
            "entries": {i: entry_to_json(e) for i, e in entries.items()},
            "buckets": {b: m.to_json() for b, m in buckets.items()},
            "plans": plans,
            "extend": extend,
        }
        res = scripts.run(
            "commit",
            [
                keys.epoch,
                keys.profiles,
                keys.entries,
                keys.buckets,
                keys.onduty,
                keys.rgcount,
                *(keys.plan(r) for r in rids),
                *(keys.plan(str(e[0])) for e in extend),
            ],
            [self.epoch, json.dumps(payload, separators=(",", ":"))],
        )
        if res[0] != "OK":
            raise StaleEpoch(str(res[1]))
        nxt.epoch = str(res[1])
        return nxt

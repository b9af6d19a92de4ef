"""The allocator's public API: sessions, ingest, the one-round-trip claim, leases, widening.

Python decides *which keys* an operation touches (buckets, plans) from a cached snapshot of
the network structure; the Lua scripts do the state changes atomically and re-check what
Python read (epoch, bucket ids), answering STALE/RETRY so Python refreshes and tries again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from allocator.codec import stored_bucket, study_from_json, study_to_json
from allocator.eligibility import BucketMeta, bucket_for, entry_id
from allocator.keys import NetworkKeys
from allocator.ranking import RankingWeights, stage_at, widen_time
from allocator.scripts import RedisClient, Scripts
from allocator.structure import StaleEpoch, Structure
from allocator.types import (
    HOT_URGENCIES,
    Claim,
    QueuedStudy,
    ReporterProfile,
    SessionKind,
    WidenEvent,
)

_RETRIES = 50
_BATCH = 1000
_STAGE_RULES = {1: "widen-to-radiologists", 2: "recommend-outsourcing"}

__all__ = ["Allocator", "NotOnDuty", "Push", "RankingWeights"]


class NotOnDuty(Exception):
    """The reporter has no session: they may not pull."""


class ContentionError(RuntimeError):
    """An operation kept losing races with concurrent structural changes."""


@dataclass(frozen=True)
class Push:
    """A hot study held for one on-duty reporter at ingest (audited by the caller)."""

    study_id: str
    reporter_id: str
    reason: dict[str, Any]


@dataclass(frozen=True)
class _Plan:
    """A reporter's cached claim plan, valid while the network epoch equals ``epoch``."""

    epoch: str
    keys: list[str]
    args: list[str | int]


def _indexer(index: dict[str, int]) -> Callable[[str], int]:
    """1-based position of a bucket id among the bucket KEYS of one script call."""

    def idx(bid: str) -> int:
        return index.setdefault(bid, len(index) + 1)

    return idx


def _chunks(seq: Sequence[Any], n: int = _BATCH) -> list[Sequence[Any]]:
    return [seq[i : i + n] for i in range(0, len(seq), n)]


class Allocator:
    """One network's allocation core on Redis (or Redis Cluster: all keys share ``{network}``)."""

    def __init__(
        self, client: RedisClient, network: str, weights: RankingWeights = RankingWeights()
    ) -> None:
        self._r: Any = client
        self._k = NetworkKeys(network)
        self._w = weights
        self._s = Scripts(client)
        self._snap: Structure | None = None
        self._plans: dict[str, _Plan] = {}
        k = self._k
        self._claim_keys = [
            k.epoch, k.onduty, k.studies, k.where, k.leases, k.held, k.hold_exp,
            k.inhand, k.rgcount, k.patients,
        ]  # fmt: skip
        self._hand_keys = [k.studies, k.where, k.leases, k.held, k.hold_exp, k.inhand]

    # -- structure ----------------------------------------------------------------------
    def _structure(self, refresh: bool = False) -> Structure:
        if refresh or self._snap is None:
            self._snap = Structure.load(self._s, self._k)
        return self._snap

    def _ensure_buckets(self, snap: Structure, metas: Mapping[str, BucketMeta]) -> None:
        """Register new buckets and add them to the plans of everyone who may take them."""
        missing = {b: m for b, m in metas.items() if b not in snap.buckets}
        if not missing:
            return
        affected = {rid for meta in missing.values() for rid in snap.eligible_reporters(meta)}
        snap.commit(self._s, self._k, buckets=missing, replan=affected)

    def upsert_reporter(self, profile: ReporterProfile) -> None:
        """Store a profile and recompute its plan; a new scope entry re-buckets the queue."""
        for attempt in range(_RETRIES):
            snap = self._structure(refresh=attempt > 0)
            new_entries = {entry_id(e): e for e in profile.scope if entry_id(e) not in snap.entries}
            try:
                snap.commit(
                    self._s,
                    self._k,
                    profiles={profile.reporter_id: profile},
                    entries=new_entries,
                    replan=[profile.reporter_id],
                )
                break
            except StaleEpoch:
                continue
        else:
            raise ContentionError("upsert_reporter")
        self._plans.pop(profile.reporter_id, None)
        if new_entries:
            self._rebucket_all()
        self._drop_ineligible_holds(profile.reporter_id)

    def remove_reporter(self, reporter_id: str) -> None:
        """End their session (holds go back) and delete their profile and plan."""
        self.end_session(reporter_id, 0)
        for attempt in range(_RETRIES):
            snap = self._structure(refresh=attempt > 0)
            try:
                snap.commit(self._s, self._k, profiles={reporter_id: None})
                break
            except StaleEpoch:
                continue
        else:
            raise ContentionError("remove_reporter")
        self._plans.pop(reporter_id, None)

    def _rebucket_all(self) -> None:
        """Move every study whose signature changed (after new scope entries): O(n), rare."""
        cursor = 0
        while True:
            cursor, page = self._r.hscan(self._k.studies, cursor, count=_BATCH)
            if page:
                self._restage(list(page), now_ms=None)
            if cursor == 0:
                return

    # -- sessions -----------------------------------------------------------------------
    def start_session(self, reporter_id: str, kind: SessionKind, now_ms: int) -> None:
        """Put a reporter on duty (counts them for radiographer deferral)."""
        k = self._k
        self._s.run(
            "start_session", [k.onduty, k.rgcount, k.plan(reporter_id)], [reporter_id, kind]
        )

    def end_session(self, reporter_id: str, now_ms: int) -> list[str]:
        """Take a reporter off duty; returns the held studies that went back to the queue."""
        k = self._k
        for _ in range(_RETRIES):
            sids = self._held_ids(reporter_id)
            bids = self._bucket_ids(sids)
            keys, args = self._bucket_args(sids, bids)
            res = self._s.run(
                "end_session",
                [k.onduty, k.rgcount, k.plan(reporter_id), *self._hand_keys, *keys],
                [reporter_id, *args],
            )
            if res[0] == "OK":
                return [str(x) for x in res[1:]]
        raise ContentionError("end_session")

    def on_duty(self) -> dict[str, SessionKind]:
        """Reporter id -> session kind of everyone on duty."""
        return dict(self._r.hgetall(self._k.onduty))

    # -- ingest -------------------------------------------------------------------------
    def enqueue(self, studies: Sequence[QueuedStudy], now_ms: int) -> list[Push]:
        """Idempotent upsert of waiting studies; hot ones are pushed. Returns the pushes."""
        latest = {s.study_id: s for s in studies}
        pushes: list[Push] = []
        for chunk in _chunks(list(latest.values())):
            pushes.extend(self._enqueue(chunk, now_ms, push=True, leases={}))
        return pushes

    def _enqueue(
        self,
        studies: Sequence[QueuedStudy],
        now_ms: int,
        push: bool,
        leases: Mapping[str, tuple[str, int]],
    ) -> list[Push]:
        k = self._k
        refresh = False
        for _ in range(_RETRIES):
            olds = self._stored(studies)
            snap = self._structure(refresh)
            refresh = True
            placed = []
            for s in studies:
                old = olds[s.study_id]
                stage = max(s.widening_stage, old[1] if old else 0)
                meta = bucket_for(s, stage, snap.entries)
                placed.append((s, stage, meta.bucket_id, meta, old))
            try:
                self._ensure_buckets(snap, {p[2]: p[3] for p in placed})
            except StaleEpoch:
                continue
            key_index: dict[str, int] = {}
            idx = _indexer(key_index)
            cands: dict[str, list[str]] = {}
            args: list[str | int] = [snap.epoch, now_ms, self._w.push_hold_ms, int(push)]
            for s, stage, bid, meta, old in placed:
                wat = widen_time(s.acquired_ms, s.due_ms, stage, self._w)
                lease_rid, lease_exp = leases.get(s.study_id, ("", 0))
                args += [study_to_json(s, bid, stage), idx(bid)]
                args += [old[0], idx(old[0]), old[1]] if old else ["", 0, 0]
                args += ["" if wat is None else wat, lease_rid, lease_exp]
                if push and s.urgency in HOT_URGENCIES and not lease_rid:
                    if bid not in cands:
                        cands[bid] = snap.eligible_reporters(meta)
                    args += [len(cands[bid]), *cands[bid]]
                else:
                    args.append(0)
            keys = [
                k.epoch, k.studies, k.where, k.patients, k.held, k.hold_exp, k.inhand,
                k.onduty, k.widen_at, k.leases, *(k.bucket(b) for b in key_index),
            ]  # fmt: skip
            res = self._s.run("enqueue", keys, args)
            if res[0] == "OK":
                flat = res[1:]
                return [
                    Push(str(flat[i]), str(flat[i + 1]), json.loads(flat[i + 2]))
                    for i in range(0, len(flat), 3)
                ]
            refresh = res[0] == "STALE"
        raise ContentionError("enqueue")

    def remove(self, study_ids: Sequence[str]) -> None:
        """Studies reported outside, outsourced or cancelled leave every structure."""
        k = self._k
        for chunk in _chunks(list(dict.fromkeys(study_ids))):
            for _ in range(_RETRIES):
                bids = self._bucket_ids(chunk)
                keys, args = self._bucket_args(chunk, bids)
                res = self._s.run("remove", [*self._hand_keys, k.patients, k.widen_at, *keys], args)
                if res[0] == "OK":
                    break
            else:
                raise ContentionError("remove")

    # -- the claim ----------------------------------------------------------------------
    def _load_plan(self, reporter_id: str) -> _Plan:
        epoch, raw = self._s.run("read_plan", [self._k.epoch, self._k.plan(reporter_id)], [])
        rows = json.loads(raw)["b"] if raw else []
        w = self._w
        args: list[str | int] = []
        for bid, sub, home, deferrable in rows:
            args += [bid, w.subspecialty_bonus_ms * sub, w.home_site_bonus_ms * home, deferrable]
        plan = _Plan(str(epoch), [self._k.bucket(r[0]) for r in rows], args)
        self._plans[reporter_id] = plan
        return plan

    def claim(self, reporter_id: str, now_ms: int, lease_ms: int) -> Claim | None:
        """Lease the reporter's next study: held for them first, else the best eligible head."""
        w = self._w
        for _ in range(_RETRIES):
            plan = self._plans.get(reporter_id) or self._load_plan(reporter_id)
            res = self._s.run(
                "claim",
                self._claim_keys + plan.keys,
                [
                    plan.epoch, reporter_id, now_ms, lease_ms, w.radiographer_deferral_ms,
                    w.deferral_min_slack_ms, w.patient_hold_ms, *plan.args,
                ],
            )  # fmt: skip
            if not res:
                return None
            if res[0] == "STALE":
                self._plans.pop(reporter_id, None)
                continue
            if res[0] == "OFFDUTY":
                raise NotOnDuty(reporter_id)
            sid, via, expires, reason = res
            return Claim(str(sid), reporter_id, int(expires), via, json.loads(reason))
        raise ContentionError("claim")

    # -- leases -------------------------------------------------------------------------
    def complete(self, reporter_id: str, study_id: str, now_ms: int) -> bool:
        """Finish a study under a live lease; False if this reporter holds none on it."""
        k = self._k
        res = self._s.run(
            "complete",
            [*self._hand_keys, k.patients, k.widen_at],
            [study_id, reporter_id, now_ms],
        )
        return bool(res)

    def release(self, reporter_id: str, study_id: str, now_ms: int) -> bool:
        """Hand a leased study back to the shared queue; False if no live lease."""
        out = self._requeue("release", reporter_id, [study_id], now_ms)
        return bool(out)

    def lease_holder(self, study_id: str) -> tuple[str, int] | None:
        """(reporter id, lease expiry ms) of a leased study, else None."""
        pipe = self._r.pipeline(transaction=False)
        pipe.hget(self._k.where, study_id)
        pipe.zscore(self._k.leases, study_id)
        where, expires = pipe.execute()
        if not where or not where.startswith("L\t") or expires is None:
            return None
        return where[2:], int(expires)

    def expire_leases(self, now_ms: int) -> list[tuple[str, str]]:
        """Return run-out leases and holds to the queue; answers the (study, reporter) leases."""
        out: list[tuple[str, str]] = []
        for key in (self._k.leases, self._k.hold_exp):
            while True:
                due = self._r.zrangebyscore(key, "-inf", now_ms, start=0, num=_BATCH)
                if not due:
                    break
                got = self._requeue("expire", "", list(due), now_ms)
                out += [(sid, who) for sid, who, state in got if state == "L"]
                if len(due) < _BATCH:
                    break
        return out

    def _requeue(
        self, mode: str, reporter_id: str, study_ids: list[str], now_ms: int
    ) -> list[tuple[str, str, str]]:
        """Run requeue.lua until no study answers 'retry'; returns (sid, who, state) moved."""
        moved: list[tuple[str, str, str]] = []
        todo = study_ids
        for _ in range(_RETRIES):
            bids = self._bucket_ids(todo)
            keys, args = self._bucket_args(todo, bids)
            res = self._s.run(
                "requeue", [*self._hand_keys, *keys], [mode, reporter_id, now_ms, *args]
            )
            rows = [res[i : i + 4] for i in range(0, len(res), 4)]
            moved += [(r[0], r[2], r[3]) for r in rows if r[1] == "ok"]
            todo = [r[0] for r in rows if r[1] == "retry"]
            if not todo:
                return moved
        raise ContentionError("requeue")

    def _drop_ineligible_holds(self, reporter_id: str) -> None:
        """After a profile change, studies held for them that they may no longer take go back."""
        held = self._held_ids(reporter_id)
        if not held:
            return
        plan = self._load_plan(reporter_id)
        allowed = set(plan.args[0::4])
        bids = self._bucket_ids(held)
        drop = [sid for sid in held if bids.get(sid) not in allowed]
        if drop:
            self._requeue("unhold", reporter_id, drop, 0)

    # -- widening -----------------------------------------------------------------------
    def widen(self, now_ms: int) -> list[WidenEvent]:
        """Move studies whose slack ran low to stage 1 / 2; one event per stage passed."""
        events: list[WidenEvent] = []
        for _ in range(_RETRIES):
            due = self._r.zrangebyscore(self._k.widen_at, "-inf", now_ms, start=0, num=_BATCH)
            if not due:
                return events
            moved = self._restage(list(due), now_ms)
            if not moved:
                # gone or changed meanwhile: drop schedule entries of studies no longer stored
                raws = self._r.hmget(self._k.studies, due)
                gone = [sid for sid, r in zip(due, raws, strict=True) if not r]
                if gone:
                    self._r.zrem(self._k.widen_at, *gone)
                continue
            for s, new_stage in moved:
                events += [
                    WidenEvent(s.study_id, st, _STAGE_RULES[st])
                    for st in range(s.widening_stage + 1, new_stage + 1)
                ]
        return events

    def _restage(
        self, study_ids: Sequence[str], now_ms: int | None
    ) -> list[tuple[QueuedStudy, int]]:
        """Recompute bucket (and stage, given ``now_ms``) of stored studies and move what
        changed. Returns (study as it was, new stage) for each study moved."""
        k = self._k
        refresh = False
        for _ in range(_RETRIES):
            raws = self._r.hmget(k.studies, list(study_ids)) if study_ids else []
            current = [study_from_json(r) for r in raws if r]
            snap = self._structure(refresh)
            refresh = True
            rows = []
            for s in current:
                stage = s.widening_stage
                if now_ms is not None:
                    stage = stage_at(s.acquired_ms, s.due_ms, stage, now_ms, self._w)
                rows.append((s, stage, bucket_for(s, stage, snap.entries)))
            try:
                self._ensure_buckets(snap, {m.bucket_id: m for _, _, m in rows})
            except StaleEpoch:
                continue
            stored = {sid: stored_bucket(r) for sid, r in zip(study_ids, raws, strict=True) if r}
            key_index: dict[str, int] = {}
            idx = _indexer(key_index)
            args: list[str | int] = [snap.epoch]
            by_id = {}
            for s, stage, meta in rows:
                old = stored[s.study_id]
                if old == (meta.bucket_id, stage) and now_ms is None:
                    continue
                wat = widen_time(s.acquired_ms, s.due_ms, stage, self._w)
                by_id[s.study_id] = (s, stage)
                args += [s.study_id, old[0], idx(old[0]), old[1], meta.bucket_id]
                args += [idx(meta.bucket_id), stage, "" if wat is None else wat]
            if not by_id:
                return []
            keys = [k.epoch, k.studies, k.where, k.widen_at, *(k.bucket(b) for b in key_index)]
            res = self._s.run("restage", keys, args)
            if res[0] == "OK":
                return [by_id[sid] for sid in res[1:]]
        raise ContentionError("restage")

    # -- reads --------------------------------------------------------------------------
    def in_hand(self, reporter_id: str) -> dict[str, float]:
        """Work in hand: leased and held counts, their work units and hot cases."""
        names = ("leased", "held", "work_units", "hot")
        fields = [f"{reporter_id}\t{f}" for f in ("leased", "held", "wu", "hot")]
        vals = self._r.hmget(self._k.inhand, fields)
        return {n: float(v or 0) for n, v in zip(names, vals, strict=True)}

    def waiting_count(self) -> int:
        """Studies in the shared queue (known minus leased minus held)."""
        pipe = self._r.pipeline(transaction=False)
        pipe.hlen(self._k.where)
        pipe.zcard(self._k.leases)
        pipe.zcard(self._k.held)
        known, leased, held = pipe.execute()
        return int(known) - int(leased) - int(held)

    def is_empty(self) -> bool:
        """True when this network has nothing in Redis (start-up then rebuilds)."""
        return int(self._r.exists(*self._k.fixed())) == 0

    # -- recovery -----------------------------------------------------------------------
    def reset(self) -> None:
        """Delete every key of this network."""
        k = self._k
        names = set(k.fixed())
        names |= {k.bucket(b) for b in self._r.hkeys(k.buckets)}
        names |= {k.plan(r) for r in self._r.hkeys(k.profiles)}
        pattern = "".join("\\" + c if c in "*?[]\\" else c for c in k.base) + "*"
        names |= set(self._r.scan_iter(match=pattern, count=1000))
        for chunk in _chunks(sorted(names), 200):
            for name in chunk:
                self._r.delete(name)
        self._snap = None
        self._plans.clear()

    def rebuild(
        self,
        profiles: Sequence[ReporterProfile],
        sessions: Mapping[str, SessionKind],
        waiting: Sequence[QueuedStudy],
        leases: Sequence[tuple[QueuedStudy, str, int]],
        now_ms: int,
    ) -> None:
        """Reset, then restore from the SQL system of record (no pushes are replayed)."""
        self.reset()
        snap = self._structure(refresh=True)
        entries = {entry_id(e): e for p in profiles for e in p.scope}
        snap.commit(
            self._s,
            self._k,
            profiles={p.reporter_id: p for p in profiles},
            entries=entries,
        )
        every = [*waiting, *(s for s, _, _ in leases)]
        self._ensure_buckets(
            snap,
            {
                m.bucket_id: m
                for m in (bucket_for(s, s.widening_stage, snap.entries) for s in every)
            },
        )
        for rid, kind in sessions.items():
            self.start_session(rid, kind, now_ms)
        for chunk in _chunks(list({s.study_id: s for s in waiting}.values())):
            self._enqueue(chunk, now_ms, push=False, leases={})
        by_lease = {s.study_id: (s, rid, exp) for s, rid, exp in leases}
        for chunk in _chunks(list(by_lease.values())):
            self._enqueue(
                [s for s, _, _ in chunk],
                now_ms,
                push=False,
                leases={s.study_id: (rid, exp) for s, rid, exp in chunk},
            )

    # -- helpers ------------------------------------------------------------------------
    def _stored(self, studies: Sequence[QueuedStudy]) -> dict[str, tuple[str, int] | None]:
        """(bucket id, stage) of each study as Redis has it now, None if absent."""
        if not studies:
            return {}
        raws = self._r.hmget(self._k.studies, [s.study_id for s in studies])
        return {
            s.study_id: (stored_bucket(r) if r else None)
            for s, r in zip(studies, raws, strict=True)
        }

    def _bucket_ids(self, study_ids: Sequence[str]) -> dict[str, str]:
        if not study_ids:
            return {}
        raws = self._r.hmget(self._k.studies, list(study_ids))
        return {sid: stored_bucket(r)[0] for sid, r in zip(study_ids, raws, strict=True) if r}

    def _bucket_args(
        self, study_ids: Sequence[str], bids: Mapping[str, str]
    ) -> tuple[list[str], list[str | int]]:
        """Bucket KEYS and per-study (sid, bucket id, key index) ARGV triples."""
        index: dict[str, int] = {}
        args: list[str | int] = []
        for sid in study_ids:
            bid = bids.get(sid, "")
            i = index.setdefault(bid, len(index) + 1) if bid else 0
            args += [sid, bid, i]
        return [self._k.bucket(b) for b in index], args

    def _held_ids(self, reporter_id: str) -> list[str]:
        members = self._r.zrangebylex(
            self._k.held, f"[{reporter_id}\t", f"({reporter_id}\t\U0010ffff"
        )
        return [m[len(reporter_id) + 15 :] for m in members]

"""The allocator's public API: sessions, ingest, the one-round-trip claim, leases, widening.

Layout (all keys in ``allocator.keys``, one ``{network}`` hash tag): studies that exactly the
same reporters may take, with the same ranking adjustments, share a *bucket* (site, matched
scope entries, subspecialty, hard-requirement and stage-0 flags, work units in halves). All
buckets live in one lex-ordered sorted set, so a bucket's head is one ZRANGEBYLEX away; *heads
lists* score the non-empty buckets by band of work units, then their head's due time -- one
list of every bucket, one per scope entry. Each reporter's *plan* (their eligible buckets and
ranking flags, and their best bonus per band) is precomputed in Redis. A claim is then one
EVALSHA with a fixed set of keys: walk the reporter's heads lists band by band in due order,
skip buckets outside their plan, leave a band once no later head in it can win.

Ingest and re-bucketing compute bucket ids from a cached snapshot of the network structure;
their scripts check the snapshot's epoch and answer STALE (refresh and recompute) or RETRY
(a study changed since it was read).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from allocator.codec import stored_bucket, study_from_json, study_to_json
from allocator.eligibility import BucketMeta, bucket_for, entry_id
from allocator.keys import NetworkKeys
from allocator.ranking import RankingWeights, stage_at, widen_time
from allocator.recovery import delete_network
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
        k = self._k
        self._claim_keys = [
            k.onduty, k.studies, k.where, k.leases, k.held, k.hold_exp, k.inhand,
            k.rgcount, k.patients, k.queue,
        ]  # fmt: skip
        self._claim_args = [
            weights.subspecialty_bonus_ms, weights.home_site_bonus_ms,
            weights.radiographer_deferral_ms, weights.deferral_min_slack_ms,
            weights.patient_hold_ms, weights.reading_ms_per_work_unit,
        ]  # fmt: skip
        self._hand_keys = [k.studies, k.where, k.leases, k.held, k.hold_exp, k.inhand, k.queue]
        self._lists_cache: tuple[Structure, list[str], str] | None = None

    # -- structure ----------------------------------------------------------------------
    def _structure(self, refresh: bool = False) -> Structure:
        if refresh or self._snap is None:
            self._snap = Structure.load(self._s, self._k)
        return self._snap

    def _head_lists(self, refresh: bool = False) -> tuple[list[str], str]:
        """Every heads list's key and the tab-joined list ids (ARGV[1] of queue scripts)."""
        snap = self._structure(refresh)
        cached = self._lists_cache
        if cached is None or cached[0] is not snap:
            lists = snap.head_lists
            cached = (snap, [self._k.heads(h) for h in lists], "\t".join(lists))
            self._lists_cache = cached
        return cached[1], cached[2]

    def _run_sited(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run a queue script with the heads keys; refresh the list of lists if stale."""
        for attempt in range(_RETRIES):
            heads, lists = self._head_lists(refresh=attempt > 0)
            res = self._s.run(name, [*keys, *heads], [lists, *args])
            if not (res and res[0] in ("SITES", "STALE")):
                return res
        raise ContentionError(name)

    def _ensure_buckets(self, snap: Structure, metas: Mapping[str, BucketMeta]) -> Structure:
        """Register new buckets and add them to the plans of everyone who may take them;
        returns the snapshot to use from here on. Raises StaleEpoch."""
        missing = {b: m for b, m in metas.items() if b not in snap.buckets}
        if not missing:
            return snap
        snap = snap.commit(self._s, self._k, buckets=missing)
        self._snap = snap
        return snap

    def _commit_profiles(
        self, profiles: Mapping[str, ReporterProfile | None], only_absent: bool = False
    ) -> bool:
        """Store (or delete) profiles and their plans; True if they brought new scope entries.

        ``only_absent`` stores only the reporters the structure does not hold, judged again
        on every retry (an additive rebuild beside live traffic)."""
        for attempt in range(_RETRIES):
            snap = self._structure(refresh=attempt > 0)
            todo = {r: p for r, p in profiles.items() if not only_absent or r not in snap.profiles}
            new = {
                entry_id(e): e
                for prof in todo.values()
                if prof is not None
                for e in prof.scope
                if entry_id(e) not in snap.entries
            }
            try:
                self._snap = snap.commit(self._s, self._k, profiles=todo, entries=new)
                return bool(new)
            except StaleEpoch:
                continue
        raise ContentionError("profile")

    def upsert_reporter(self, profile: ReporterProfile) -> None:
        """Store a profile and recompute its plan; a new scope entry re-buckets the queue.

        Takes effect on their next pull; studies held for them they may no longer take go back.
        """
        if self._commit_profiles({profile.reporter_id: profile}):
            self._rebucket_all()
        held = self._held_ids(profile.reporter_id)
        if held:
            allowed = set(self._r.hkeys(self._k.plan(profile.reporter_id)))
            raws = self._r.hmget(self._k.studies, held)
            drop = [
                s
                for s, r in zip(held, raws, strict=True)
                if r and stored_bucket(r)[0] not in allowed
            ]
            if drop:
                self._requeue("unhold", profile.reporter_id, drop, 0)

    def remove_reporter(self, reporter_id: str) -> None:
        """End their session (holds go back) and delete their profile and plan."""
        self.end_session(reporter_id, 0)
        self._commit_profiles({reporter_id: None})

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
        keys = [k.onduty, k.rgcount, k.plan(reporter_id)]
        self._s.run("start_session", keys, [reporter_id, kind])

    def end_session(self, reporter_id: str, now_ms: int) -> list[str]:
        """Take a reporter off duty; returns the held studies that went back to the queue."""
        k = self._k
        keys = [k.onduty, k.rgcount, k.plan(reporter_id), k.studies, k.where, k.leases,
                k.held, k.hold_exp, k.inhand, k.queue]  # fmt: skip
        return [str(x) for x in self._run_sited("end_session", keys, [reporter_id])[1:]]

    def on_duty(self) -> dict[str, SessionKind]:
        """Reporter id -> session kind of everyone on duty."""
        return dict(self._r.hgetall(self._k.onduty))

    # -- ingest -------------------------------------------------------------------------
    def enqueue(self, studies: Sequence[QueuedStudy], now_ms: int) -> list[Push]:
        """Idempotent upsert of waiting studies; hot ones are pushed. Returns the pushes.

        A study's widening stage never goes down: the higher of the given and stored stage.
        """
        latest = list({s.study_id: s for s in studies}.values())
        pushes: list[Push] = []
        for chunk in _chunks(latest):
            pushes.extend(self._enqueue(chunk, now_ms, push=True, leases={}))
        return pushes

    def _enqueue(
        self,
        studies: Sequence[QueuedStudy],
        now_ms: int,
        push: bool,
        leases: Mapping[str, tuple[str, int]],
        only_absent: bool = False,
    ) -> list[Push]:
        """``only_absent`` skips studies Redis already holds, checked again on every retry
        (the script refuses, with RETRY, a study added since it was read)."""
        k = self._k
        keys = [k.epoch, k.studies, k.where, k.patients, k.held, k.hold_exp, k.inhand,
                k.onduty, k.widen_at, k.leases, k.queue]  # fmt: skip
        refresh = False
        for _ in range(_RETRIES):
            olds = self._stored(studies)
            if only_absent:
                studies = [s for s in studies if olds[s.study_id] is None]
                if not studies:
                    return []
            snap = self._structure(refresh)
            placed = []
            for s in studies:
                old = olds[s.study_id]
                stage = max(s.widening_stage, old[1] if old else 0)
                placed.append((s, stage, bucket_for(s, stage, snap.entries), old))
            try:
                snap = self._ensure_buckets(snap, {m.bucket_id: m for _, _, m, _ in placed})
            except StaleEpoch:
                refresh = True
                continue
            cands: dict[str, list[str]] = {}
            args: list[str | int] = [snap.epoch, now_ms, self._w.push_hold_ms, int(push)]
            for s, stage, meta, old in placed:
                bid = meta.bucket_id
                wat = widen_time(s.acquired_ms, s.due_ms, stage, self._w)
                lease_rid, lease_exp = leases.get(s.study_id, ("", 0))
                args += [study_to_json(s, bid, stage, meta.entries), *(old or ("", 0))]
                args += ["" if wat is None else wat, lease_rid, lease_exp]
                if push and s.urgency in HOT_URGENCIES and not lease_rid:
                    if bid not in cands:
                        cands[bid] = snap.eligible_reporters(meta)
                    args += [len(cands[bid]), *cands[bid]]
                else:
                    args.append(0)
            heads, lists = self._head_lists()
            res = self._s.run("enqueue", [*keys, *heads], [lists, *args])
            if res[0] == "OK":
                flat = res[1:]
                return [
                    Push(str(flat[i]), str(flat[i + 1]), orjson.loads(flat[i + 2]))
                    for i in range(0, len(flat), 3)
                ]
            refresh = res[0] == "STALE"
        raise ContentionError("enqueue")

    def remove(self, study_ids: Sequence[str]) -> None:
        """Studies reported outside, outsourced or cancelled leave every structure."""
        keys = [*self._hand_keys, self._k.patients, self._k.widen_at]
        for chunk in _chunks(list(dict.fromkeys(study_ids))):
            self._run_sited("remove", keys, list(chunk))

    # -- the claim ----------------------------------------------------------------------
    def claim(self, reporter_id: str, now_ms: int, lease_ms: int) -> Claim | None:
        """Lease the reporter's next study: held for them first, else the best eligible head.

        One EVALSHA whatever the queue length; raises NotOnDuty without a session.
        """
        res = self._run_sited(
            "claim",
            [*self._claim_keys, self._k.plan(reporter_id)],
            [reporter_id, now_ms, lease_ms, *self._claim_args],
        )
        if not res:
            return None
        if res[0] == "OFFDUTY":
            raise NotOnDuty(reporter_id)
        sid, via, expires, reason = res
        return Claim(str(sid), reporter_id, int(expires), via, orjson.loads(reason))

    # -- leases -------------------------------------------------------------------------
    def complete(self, reporter_id: str, study_id: str, now_ms: int) -> bool:
        """Finish a study under a live lease; False if this reporter holds none on it."""
        k = self._k
        keys = [k.studies, k.where, k.leases, k.held, k.hold_exp, k.inhand, k.patients, k.widen_at]
        return bool(self._s.run("complete", keys, [study_id, reporter_id, now_ms]))

    def release(self, reporter_id: str, study_id: str, now_ms: int) -> bool:
        """Hand a leased study back to the shared queue; False if no live lease."""
        return bool(self._requeue("release", reporter_id, [study_id], now_ms))

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
                moved = self._requeue("expire", "", list(due), now_ms)
                out += [(sid, who) for sid, who, state in moved if state == "L"]
                if len(due) < _BATCH:
                    break
        return out

    def _requeue(
        self, mode: str, reporter_id: str, study_ids: Sequence[str], now_ms: int
    ) -> list[tuple[str, str, str]]:
        """Run requeue.lua; returns (study id, reporter, state 'L'|'H') for each one moved."""
        res = self._run_sited("requeue", self._hand_keys, [mode, reporter_id, now_ms, *study_ids])
        return [(res[i], res[i + 1], res[i + 2]) for i in range(1, len(res), 3)]

    # -- widening -----------------------------------------------------------------------
    def widen(self, now_ms: int) -> list[WidenEvent]:
        """Move studies whose slack ran low to stage 1 / 2; one event per stage passed."""
        events: list[WidenEvent] = []
        for _ in range(_RETRIES * 100):
            due = self._r.zrangebyscore(self._k.widen_at, "-inf", now_ms, start=0, num=_BATCH)
            if not due:
                break
            moved = self._restage(list(due), now_ms)
            gone = [sid for sid, r in zip(due, self._r.hmget(self._k.studies, due), strict=True)
                    if not r]  # fmt: skip
            if gone:
                self._r.zrem(self._k.widen_at, *gone)
            for s, new_stage in moved:
                events += [
                    WidenEvent(s.study_id, st, _STAGE_RULES[st])
                    for st in range(s.widening_stage + 1, new_stage + 1)
                ]
        return events

    def _restage(
        self, study_ids: Sequence[str], now_ms: int | None
    ) -> list[tuple[QueuedStudy, int]]:
        """Recompute bucket (and stage, given ``now_ms``) of stored studies; move what changed.

        Returns (study as it was, new stage) for each study changed.
        """
        k = self._k
        keys = [k.epoch, k.studies, k.where, k.widen_at, k.queue]
        refresh = False
        for _ in range(_RETRIES):
            raws = self._r.hmget(k.studies, list(study_ids)) if study_ids else []
            current = [study_from_json(r) for r in raws if r]
            snap = self._structure(refresh)
            rows = []
            for s in current:
                stage = s.widening_stage
                if now_ms is not None:
                    stage = stage_at(s.acquired_ms, s.due_ms, stage, now_ms, self._w)
                rows.append((s, stage, bucket_for(s, stage, snap.entries)))
            try:
                snap = self._ensure_buckets(snap, {m.bucket_id: m for _, _, m in rows})
            except StaleEpoch:
                refresh = True
                continue
            stored = {sid: stored_bucket(r) for sid, r in zip(study_ids, raws, strict=True) if r}
            args: list[str | int] = [snap.epoch]
            by_id = {}
            for s, stage, meta in rows:
                old = stored[s.study_id]
                if now_ms is None and old == (meta.bucket_id, stage):
                    continue
                wat = widen_time(s.acquired_ms, s.due_ms, stage, self._w)
                by_id[s.study_id] = (s, stage)
                args += [s.study_id, *old, meta.bucket_id, stage, "" if wat is None else wat]
                args.append("\t".join(sorted(meta.entries)))
            if not by_id:
                return []
            heads, lists = self._head_lists()
            res = self._s.run("restage", [*keys, *heads], [lists, *args])
            if res[0] == "OK":
                return [by_id[sid] for sid in res[1:]]
            refresh = True
        raise ContentionError("restage")

    # -- reads --------------------------------------------------------------------------
    def in_hand(self, reporter_id: str) -> dict[str, float]:
        """Work in hand: leased and held counts, their work units and hot cases."""
        names = ("leased", "held", "work_units", "hot")
        fields = [f"{reporter_id}\t{f}" for f in ("leased", "held", "wu", "hot")]
        vals = self._r.hmget(self._k.inhand, fields)
        return {n: float(v or 0) for n, v in zip(names, vals, strict=True)}

    def waiting_count(self) -> int:
        """Studies in the shared queue."""
        return int(self._r.zcard(self._k.queue))

    def is_empty(self) -> bool:
        """True when this network has nothing in Redis (start-up then rebuilds)."""
        return int(self._r.exists(*self._k.fixed())) == 0

    # -- recovery -----------------------------------------------------------------------
    def reset(self) -> None:
        """Delete every key of this network."""
        delete_network(self._r, self._k, self._structure(refresh=True).head_lists)
        self._snap = None

    def rebuild(
        self,
        profiles: Sequence[ReporterProfile],
        sessions: Mapping[str, SessionKind],
        waiting: Sequence[QueuedStudy],
        leases: Sequence[tuple[QueuedStudy, str, int]],
        now_ms: int,
        *,
        replace: bool = True,
    ) -> None:
        """Restore from the SQL system of record (no pushes are replayed).

        ``replace`` resets the network first (an operator's rebuild). Without it the rebuild
        only adds what Redis lacks -- reporters, sessions and studies it does not know -- so
        it may run beside live traffic: what traffic wrote is never overwritten by this
        (possibly older) read, and traffic writes Redis after SQL, so it brings any newer
        change itself.
        """
        if replace:
            self.reset()
        self._commit_profiles({p.reporter_id: p for p in profiles}, only_absent=not replace)
        snap = self._structure()
        every = [*waiting, *(s for s, _, _ in leases)]
        metas = (bucket_for(s, s.widening_stage, snap.entries) for s in every)
        with contextlib.suppress(StaleEpoch):  # else each enqueue below registers its own
            self._ensure_buckets(snap, {m.bucket_id: m for m in metas})
        on_duty = {} if replace else self.on_duty()
        for rid, kind in sessions.items():
            if rid not in on_duty:
                self.start_session(rid, kind, now_ms)
        only_absent = not replace
        for chunk in _chunks(list({s.study_id: s for s in waiting}.values())):
            self._enqueue(chunk, now_ms, push=False, leases={}, only_absent=only_absent)
        by_lease = list({s.study_id: (s, rid, exp) for s, rid, exp in leases}.values())
        for lchunk in _chunks(by_lease):
            hand = {s.study_id: (rid, exp) for s, rid, exp in lchunk}
            self._enqueue(
                [s for s, _, _ in lchunk], now_ms, push=False, leases=hand, only_absent=only_absent
            )

    # -- helpers ------------------------------------------------------------------------
    def _stored(self, studies: Sequence[QueuedStudy]) -> dict[str, tuple[str, int] | None]:
        """(bucket id, stage) of each study as Redis has it now, None if absent."""
        raws = self._r.hmget(self._k.studies, [s.study_id for s in studies]) if studies else []
        return {
            s.study_id: (stored_bucket(r) if r else None)
            for s, r in zip(studies, raws, strict=True)
        }

    def _held_ids(self, reporter_id: str) -> list[str]:
        members = self._r.zrangebylex(
            self._k.held, f"[{reporter_id}\t", f"({reporter_id}\t\U0010ffff"
        )
        return [m[len(reporter_id) + 15 :] for m in members]

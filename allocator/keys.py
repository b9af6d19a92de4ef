"""Every Redis key the allocator uses, in one place.

All keys of one network share the hash tag ``{network}`` so one network's keys live in one
Redis Cluster slot and every Lua script can touch all of them atomically. Lua never builds a
key: Python names them here and passes them through KEYS.
"""

from __future__ import annotations

from dataclasses import dataclass

# The layout's version is in the prefix: an incompatible change (2: heads lists banded by work
# units, Dec 2026) gets a new one, so an upgraded service finds its keys missing and rebuilds
# them from SQL at start-up instead of misreading the old ones (which can then be deleted).
PREFIX = "wl2"


@dataclass(frozen=True)
class NetworkKeys:
    """The key names of one network."""

    network: str

    def __post_init__(self) -> None:
        if not self.network or any(c in self.network for c in "{}\t"):
            raise ValueError(f"bad network name {self.network!r}: empty, or has {{, }} or tab")

    @property
    def base(self) -> str:
        """``wl2:{network}:`` -- the hash-tagged prefix shared by every key of the network."""
        return f"{PREFIX}:{{{self.network}}}:"

    # -- structure: changes bump the epoch -------------------------------------------------
    @property
    def epoch(self) -> str:
        """String counter bumped on every structural change (profiles, entries, buckets)."""
        return self.base + "epoch"

    @property
    def profiles(self) -> str:
        """Hash reporter_id -> profile JSON."""
        return self.base + "profiles"

    @property
    def entries(self) -> str:
        """Hash entry_id -> scope entry JSON: the network's distinct scope entries."""
        return self.base + "entries"

    @property
    def buckets(self) -> str:
        """Hash bucket_id -> bucket signature JSON (site, matched entries, subspecialty, flags)."""
        return self.base + "buckets"

    def plan(self, reporter_id: str) -> str:
        """Hash of a reporter's eligible buckets: bucket_id -> ranking flags
        ``<subspecialty match><home site><deferrable>`` as 0/1 digits; field ``<tab>rg`` says
        whether they are a radiographer."""
        return self.base + "plan:" + reporter_id

    # -- the queue -------------------------------------------------------------------------
    @property
    def queue(self) -> str:
        """Sorted set (lex, all scores 0) of every waiting study, member
        ``bucket<tab>due13<tab>acquired13<tab>study_id``: each bucket is a contiguous range."""
        return self.base + "queue"

    def heads(self, head_list: str) -> str:
        """Sorted set bucket_id -> due_ms of the bucket's head, for non-empty buckets: list
        ``*`` holds every bucket (walked by reporters without scope entries); list
        ``<entry_id>`` the buckets that scope entry allows (walked by reporters with it), so a
        narrow scope never wades through heads it may not take."""
        return self.base + "heads:" + head_list

    # -- sessions ------------------------------------------------------------------------------
    @property
    def onduty(self) -> str:
        """Hash reporter_id -> session kind."""
        return self.base + "onduty"

    @property
    def rgcount(self) -> str:
        """Hash bucket_id -> number of on-duty radiographers eligible for it (drives deferral)."""
        return self.base + "rgcount"

    # -- studies ---------------------------------------------------------------------------
    @property
    def studies(self) -> str:
        """Hash study_id -> study JSON (incl. its bucket id and sort members)."""
        return self.base + "studies"

    @property
    def where(self) -> str:
        """Hash study_id -> ``W<tab>bucket`` | ``L<tab>reporter`` | ``H<tab>reporter<tab>kind``."""
        return self.base + "where"

    @property
    def patients(self) -> str:
        """Sorted set (lex) of ``patient_key<tab>study_id`` for patient grouping."""
        return self.base + "patients"

    @property
    def widen_at(self) -> str:
        """Sorted set study_id -> time its next widening stage falls due."""
        return self.base + "widen_at"

    # -- hand-outs -------------------------------------------------------------------------
    @property
    def leases(self) -> str:
        """Sorted set study_id -> lease expiry ms."""
        return self.base + "leases"

    @property
    def held(self) -> str:
        """Sorted set (lex) of ``reporter<tab>due13<tab>study_id``: studies held for a reporter."""
        return self.base + "held"

    @property
    def hold_exp(self) -> str:
        """Sorted set study_id -> hold expiry ms (patient holds and push holds)."""
        return self.base + "hold_exp"

    @property
    def inhand(self) -> str:
        """Hash ``reporter<tab>leased|held|wu|hot`` -> tally of work in hand."""
        return self.base + "inhand"

    # -- housekeeping: not allocator state, so not in ``fixed()`` (a rebuild keeps them) -----
    @property
    def restored(self) -> str:
        """String: present while this Redis holds state built or vouched for from SQL; gone
        means Redis lost the state and the sweeper rebuilds it (worklist.reporting.watch)."""
        return self.base + "restored"

    @property
    def rebuilding(self) -> str:
        """String lock held by the one process rebuilding the network's state."""
        return self.base + "rebuilding"

    @property
    def predict_gate(self) -> str:
        """String with a TTL: set by the replica that runs this interval's prediction pass."""
        return self.base + "predict-gate"

    def fixed(self) -> list[str]:
        """Every key whose name does not depend on a reporter or bucket."""
        return [
            self.epoch,
            self.profiles,
            self.entries,
            self.buckets,
            self.onduty,
            self.rgcount,
            self.queue,
            self.studies,
            self.where,
            self.patients,
            self.widen_at,
            self.leases,
            self.held,
            self.hold_exp,
            self.inhand,
        ]

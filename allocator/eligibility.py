"""Hard eligibility: scope entries, site credentials, required subspecialty -- and the bucket
signature that groups studies exactly the same reporters may take.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

from allocator.ranking import reading_half_units
from allocator.types import QueuedStudy, ReporterProfile, ScopeEntry


def entry_to_json(entry: ScopeEntry) -> str:
    """Canonical JSON of a scope entry (sorted lists), so equal content gives equal text."""
    return json.dumps(
        {
            "modalities": sorted(entry.modalities),
            "body_parts": sorted(entry.body_parts),
            "patient_sources": sorted(entry.patient_sources),
            "exam_codes": sorted(entry.exam_codes),
            "min_age": entry.min_age,
            "max_age": entry.max_age,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


#: Decoders below are cached by their text: a snapshot of a network's structure is decoded
#: on every structural change (hundreds of profiles and buckets, nearly all unchanged), and
#: what they return is immutable, so equal texts can share one object.
DECODED_CACHE = 65536


@lru_cache(maxsize=DECODED_CACHE)
def entry_from_json(text: str) -> ScopeEntry:
    d = json.loads(text)
    return ScopeEntry(
        modalities=frozenset(d["modalities"]),
        body_parts=frozenset(d["body_parts"]),
        patient_sources=frozenset(d["patient_sources"]),
        exam_codes=frozenset(d["exam_codes"]),
        min_age=d["min_age"],
        max_age=d["max_age"],
    )


def entry_id(entry: ScopeEntry) -> str:
    """Content id of a scope entry: entries are deduplicated network-wide by content."""
    return hashlib.sha1(entry_to_json(entry).encode()).hexdigest()[:12]


def _dim_ok(allowed: frozenset[str], value: str | None) -> bool:
    """An empty set allows anything; a restricted dimension never allows an unknown value."""
    return not allowed or (value is not None and value in allowed)


def entry_allows(entry: ScopeEntry, study: QueuedStudy) -> bool:
    """True when every dimension of the entry allows the study."""
    if not (
        _dim_ok(entry.modalities, study.modality)
        and _dim_ok(entry.body_parts, study.body_part)
        and _dim_ok(entry.patient_sources, study.patient_source)
        and _dim_ok(entry.exam_codes, study.exam_code)
    ):
        return False
    if entry.min_age is not None and (
        study.patient_age is None or study.patient_age < entry.min_age
    ):
        return False
    return not (
        entry.max_age is not None
        and (study.patient_age is None or study.patient_age > entry.max_age)
    )


@lru_cache(maxsize=65536)
def _matched(
    entries: tuple[tuple[str, ScopeEntry], ...],
    modality: str,
    body_part: str | None,
    source: str | None,
    exam_code: str | None,
    age: int | None,
) -> frozenset[str]:
    """Ids of the entries allowing a study with these fields (memoised: few distinct combos)."""
    probe = QueuedStudy(
        study_id="", site="", modality=modality, body_part=body_part, exam_code=exam_code,
        patient_age=age, patient_source=source, urgency="", subspecialty=None,
        requires_subspecialist=False, work_units=0.0, acquired_ms=0, due_ms=0,
    )  # fmt: skip
    return frozenset(eid for eid, e in entries if entry_allows(e, probe))


@dataclass(frozen=True)
class BucketMeta:
    """A bucket signature: studies with equal signatures are eligible for exactly the same
    reporters and get the same ranking adjustments from each reporter."""

    site: str
    entries: frozenset[str]  # ids of the network scope entries the studies match
    subspecialty: str | None
    hard_required: bool  # requires_subspecialist and still at stage 0
    stage0: bool  # deferral to radiographers only applies at stage 0
    # work units in halves (``ranking.reading_half_units``): every study of a bucket gets the
    # same reading allowance, so a bucket's head stays its best study at any time
    reading_half_units: int = 0

    @cached_property
    def bucket_id(self) -> str:
        """Content id: replicas computing the same signature name the same bucket."""
        return hashlib.sha1(self.to_json().encode()).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(
            {
                "site": self.site,
                "entries": sorted(self.entries),
                "sub": self.subspecialty,
                "req": self.hard_required,
                "s0": self.stage0,
                "wu2": self.reading_half_units,
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @staticmethod
    def from_json(text: str) -> BucketMeta:
        return _bucket_from_json(text)


@lru_cache(maxsize=DECODED_CACHE)
def _bucket_from_json(text: str) -> BucketMeta:
    d = json.loads(text)
    return BucketMeta(
        d["site"], frozenset(d["entries"]), d["sub"], d["req"], d["s0"], d.get("wu2", 0)
    )


def bucket_for(study: QueuedStudy, stage: int, entries: Mapping[str, ScopeEntry]) -> BucketMeta:
    """The bucket a study belongs in at ``stage`` given the network's scope entries."""
    matched = _matched(
        tuple(entries.items()),
        study.modality,
        study.body_part,
        study.patient_source,
        study.exam_code,
        study.patient_age,
    )
    return BucketMeta(
        site=study.site,
        entries=matched,
        subspecialty=study.subspecialty,
        hard_required=study.requires_subspecialist
        and stage == 0
        and study.subspecialty is not None,
        stage0=stage == 0,
        reading_half_units=reading_half_units(study.work_units),
    )


@lru_cache(maxsize=4096)
def profile_entry_ids(profile: ReporterProfile) -> frozenset[str]:
    return frozenset(entry_id(e) for e in profile.scope)


def pool_signature(meta: BucketMeta) -> tuple[str, frozenset[str], str | None]:
    """What ``may_report_bucket`` reads of a bucket: buckets equal in it are open to the same
    reporters (a bucket's reading band and deferral stage never change who may report it)."""
    return meta.site, meta.entries, meta.subspecialty if meta.hard_required else None


def may_report_bucket(profile: ReporterProfile, meta: BucketMeta) -> bool:
    """Hard eligibility of a reporter for every study of a bucket (``pool_signature`` lists
    what it reads)."""
    if meta.site not in profile.sites:
        return False
    if meta.hard_required and meta.subspecialty not in profile.subspecialties:
        return False
    if not profile.scope:
        return profile.group != "radiographer"
    return not profile_entry_ids(profile).isdisjoint(meta.entries)


def may_report(profile: ReporterProfile, study: QueuedStudy, stage: int) -> bool:
    """Hard eligibility straight from the study (no buckets): the reference the tests trust."""
    if study.site not in profile.sites:
        return False
    if (
        study.requires_subspecialist
        and stage == 0
        and study.subspecialty is not None
        and study.subspecialty not in profile.subspecialties
    ):
        return False
    if not profile.scope:
        return profile.group != "radiographer"
    return any(entry_allows(e, study) for e in profile.scope)


def plan_rows(profile: ReporterProfile, metas: Iterable[tuple[str, BucketMeta]]) -> list[list[str]]:
    """A reporter's eligible buckets as ``[bucket_id, flags]`` rows; flags are 0/1 digits
    ``<subspecialty match><home site><deferrable>`` (deferral never applies to radiographers
    nor after stage 0) followed by the bucket's work units in halves, from which
    ``commit.lua`` keeps the best bonus a reporter can get in each band."""
    rows: list[list[str]] = []
    for bid, meta in metas:
        if may_report_bucket(profile, meta):
            sub = meta.subspecialty is not None and meta.subspecialty in profile.subspecialties
            home = meta.site == profile.home_site
            deferrable = profile.group != "radiographer" and meta.stage0
            rows.append([bid, f"{int(sub)}{int(home)}{int(deferrable)}{meta.reading_half_units}"])
    return rows

"""Orthanc change feed follower: ``/changes?since=&limit=``, ingesting each ``StableStudy``.

The cursor is Orthanc's change sequence number, saved after the studies of each page have
been answered for by the service; a restart continues from the last saved number. A study
that becomes stable again (more images arrived) is sent again, which the API treats as an
update of the same study.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from connectors.dicom_map import WANTED, MappingError, SiteResolver, study_from_attrs
from connectors.exam_rules import ExamMapper
from connectors.jsonlog import log
from connectors.loop import run_every
from connectors.sink import Outcome, Sink
from connectors.state import Quarantine, StateFile

_WANTED = frozenset(WANTED)


@dataclass
class OrthancConfig:
    """Where to follow and how."""

    url: str
    site: str
    interval: float = 5.0
    page_size: int = 200
    tz: str | None = None
    auth: tuple[str, str] | None = None
    institution_sites: dict[str, str] = field(default_factory=dict)


@dataclass
class FollowStats:
    """What one pass over the change feed did."""

    changes: int = 0
    studies: int = 0
    refused: int = 0
    outcome: Outcome = field(default_factory=Outcome)


class OrthancFollower:
    """Follows one Orthanc's change log for one site."""

    def __init__(
        self,
        config: OrthancConfig,
        sink: Sink,
        state_dir: Path,
        mapper: ExamMapper | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        self.state = StateFile(state_dir, f"orthanc-{config.site}")
        self.quarantine = Quarantine(state_dir)
        self.mapper = mapper or ExamMapper()
        self.sites = SiteResolver(config.site, dict(config.institution_sites))
        self.http = http or httpx.Client(
            base_url=config.url.rstrip("/"), auth=config.auth, timeout=60.0
        )

    def _get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def study_attrs(self, orthanc_id: str) -> dict[str, Any]:
        """The wanted attributes of one study, from Orthanc's study, series and one instance."""
        study = self._get(f"/studies/{orthanc_id}")
        attrs: dict[str, Any] = {}
        for key, value in {
            **study.get("PatientMainDicomTags", {}),
            **study.get("MainDicomTags", {}),
        }.items():
            if key in _WANTED and value not in (None, ""):
                attrs[key] = value
        series = self._get(f"/studies/{orthanc_id}/series")
        modalities: list[str] = []
        first_instance: str | None = None
        for one in series:
            tags = one.get("MainDicomTags", {})
            if tags.get("Modality"):
                modalities.append(str(tags["Modality"]))
            if tags.get("BodyPartExamined") and "BodyPartExamined" not in attrs:
                attrs["BodyPartExamined"] = tags["BodyPartExamined"]
            if first_instance is None and one.get("Instances"):
                first_instance = str(one["Instances"][0])
        if modalities:
            attrs["ModalitiesInStudy"] = sorted(set(modalities))
        if first_instance is not None:
            tags = self._get(f"/instances/{first_instance}/simplified-tags")
            for key in (
                "PatientAge",
                "TimezoneOffsetFromUTC",
                "BodyPartExamined",
                "RequestedProcedureDescription",
                "InstitutionName",
            ):
                value = tags.get(key)
                if isinstance(value, str) and value and key not in attrs:
                    attrs[key] = value
        return attrs

    def follow_once(self) -> FollowStats:
        """Read the change log to its end, sending a page's stable studies before moving on."""
        state = self.state.load()
        since = int(state.get("last_seq", 0))
        stats = FollowStats()
        while True:
            page = self._get("/changes", since=since, limit=self.config.page_size)
            changes = page.get("Changes", [])
            stats.changes += len(changes)
            stable = [c for c in changes if c.get("ChangeType") == "StableStudy"]
            batch: list[dict[str, Any]] = []
            for change in dict.fromkeys(str(c.get("ID")) for c in stable):
                item = self._study(change, stats)
                if item is not None:
                    batch.append(item)
            stats.outcome.add(self.sink.studies(batch))
            stats.studies += len(batch)
            last = int(page.get("Last", since))
            if last > since:
                since = last
                self.state.save({"last_seq": since})
            if page.get("Done", True) or not changes:
                break
            if stats.changes % (self.config.page_size * 10) == 0:
                log(
                    "backfill_progress",
                    connector="orthanc",
                    site=self.config.site,
                    changes=stats.changes,
                    studies=stats.studies,
                    seq=since,
                )
        if stats.changes:
            log(
                "follow_done",
                connector="orthanc",
                site=self.config.site,
                changes=stats.changes,
                studies=stats.studies,
                refused=stats.refused,
                seq=since,
                rejected=len(stats.outcome.rejected),
            )
        return stats

    def _study(self, orthanc_id: str, stats: FollowStats) -> dict[str, Any] | None:
        try:
            attrs = self.study_attrs(orthanc_id)
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 404:  # deleted since it became stable
                log("study_gone", level=30, connector="orthanc", orthanc_id=orthanc_id)
                return None
            raise
        warnings: list[str] = []
        try:
            item = study_from_attrs(
                attrs, self.sites, self.mapper, tz=self.config.tz, warnings=warnings
            )
        except MappingError as exc:
            stats.refused += 1
            self.quarantine.add(
                "orthanc",
                str(exc),
                {"orthanc_id": orthanc_id, "StudyInstanceUID": attrs.get("StudyInstanceUID")},
            )
            return None
        for warning in warnings:
            log(
                "mapping_warning",
                level=30,
                connector="orthanc",
                orthanc_id=orthanc_id,
                warning=warning,
            )
        return item

    def run(self, stop: threading.Event) -> None:
        """Follow until stopped."""
        run_every(self.config.interval, self.follow_once, stop, name="orthanc")

"""DICOMweb QIDO-RS poller: searches a PACS's ``/studies`` by StudyDate range, page by page.

QIDO has no "changed since" query, so the cursor is a date window plus the studies already
sent inside it (uid -> study date and a digest of what was sent). Each poll re-reads the
window, sends only new or changed studies, and saves the cursor after each delivered page.
The window's start moves to ``today - overlap_days`` once a poll completes, so late arrivals
dated yesterday are still caught, and entries older than the window are dropped.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from pydicom.dataset import Dataset

from connectors.dicom_map import (
    WANTED,
    MappingError,
    SiteResolver,
    attrs_from_dataset,
    study_from_attrs,
)
from connectors.exam_rules import ExamMapper
from connectors.jsonlog import log
from connectors.loop import run_every
from connectors.sink import Outcome, Sink
from connectors.state import Quarantine, StateFile
from connectors.timeparse import zone

# Study-level attributes we ask the PACS to include (a PACS may ignore some).
INCLUDE_FIELDS = tuple(k for k in WANTED if k not in {"Modality", "SeriesDescription"})


@dataclass
class QidoConfig:
    """Where and how to poll."""

    url: str  # QIDO base, e.g. http://pacs/dicom-web
    site: str
    interval: float = 60.0
    lookback_days: int = 1  # first run: how far back to backfill
    overlap_days: int = 1  # later runs: how many past days to re-read
    page_size: int = 100
    tz: str | None = None
    series_lookup: bool = True  # ask the series level when the study level lacks a body part
    headers: dict[str, str] = field(default_factory=dict)
    institution_sites: dict[str, str] = field(default_factory=dict)


@dataclass
class PollStats:
    """What one poll did."""

    seen: int = 0
    sent: int = 0
    unchanged: int = 0
    refused: int = 0
    outcome: Outcome = field(default_factory=Outcome)


def _digest(attrs: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(attrs, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


class DicomwebPoller:
    """Polls one QIDO-RS endpoint for one site."""

    def __init__(
        self,
        config: QidoConfig,
        sink: Sink,
        state_dir: Path,
        mapper: ExamMapper | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        self.state = StateFile(state_dir, f"dicomweb-{config.site}")
        self.quarantine = Quarantine(state_dir)
        self.mapper = mapper or ExamMapper()
        self.sites = SiteResolver(config.site, dict(config.institution_sites))
        self._window_floor = ""
        self.http = http or httpx.Client(
            base_url=config.url.rstrip("/"), headers=config.headers, timeout=60.0
        )

    # -- QIDO ---------------------------------------------------------------------------------
    def _search(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.http.get(path, params=params, headers={"Accept": "application/dicom+json"})
        if response.status_code == 204:
            return []
        response.raise_for_status()
        if not response.content.strip():
            return []
        body = response.json()
        if not isinstance(body, list):
            raise ValueError(f"QIDO {path}: expected a JSON array, got {type(body).__name__}")
        return body

    def pages(self, start: date, end: date) -> Iterator[list[dict[str, Any]]]:
        """Every page of the study search over ``[start, end]``."""
        offset = 0
        while True:
            params: list[tuple[str, Any]] = [
                ("StudyDate", f"{start:%Y%m%d}-{end:%Y%m%d}"),
                ("limit", self.config.page_size),
                ("offset", offset),
                ("fuzzymatching", "false"),
            ]
            params += [("includefield", name) for name in INCLUDE_FIELDS]
            page = self._search("/studies", dict_params(params))
            yield page
            if len(page) < self.config.page_size:
                return
            offset += len(page)

    def _series_attrs(self, uid: str) -> dict[str, Any]:
        """Modalities and body part from the series level, for PACSs that omit them."""
        series = self._search(
            f"/studies/{uid}/series",
            {"includefield": ["BodyPartExamined", "Modality"]},
        )
        modalities: list[str] = []
        body_parts: list[str] = []
        for raw in series:
            attrs = attrs_from_dataset(Dataset.from_json(raw))
            if attrs.get("Modality"):
                modalities.append(str(attrs["Modality"]))
            if attrs.get("BodyPartExamined"):
                body_parts.append(str(attrs["BodyPartExamined"]))
        out: dict[str, Any] = {}
        if modalities:
            out["SeriesModalities"] = sorted(set(modalities))
        if body_parts:
            out["BodyPartExamined"] = body_parts[0]
        return out

    # -- one poll -----------------------------------------------------------------------------
    def poll_once(self) -> PollStats:
        """Search the window, send what is new or changed, save the cursor page by page."""
        state = self.state.load()
        today = datetime.now(zone(self.config.tz)).date()
        if state.get("window_start"):
            start = date.fromisoformat(str(state["window_start"]))
        else:
            start = today - timedelta(days=self.config.lookback_days)
        seen: dict[str, list[str]] = dict(state.get("seen", {}))
        self._window_floor = start.strftime("%Y%m%d")
        stats = PollStats()
        # one day ahead: a modality clock a little fast must not hide a study
        for page_no, page in enumerate(self.pages(start, today + timedelta(days=1))):
            batch: list[dict[str, Any]] = []
            pending: dict[str, list[str]] = {}
            for raw in page:
                stats.seen += 1
                item = self._study_from_json(raw, seen, pending, stats)
                if item is not None:
                    batch.append(item)
            outcome = self.sink.studies(batch)
            stats.outcome.add(outcome)
            stats.sent += len(batch)
            seen.update(pending)
            self.state.save({"window_start": start.isoformat(), "seen": seen})
            if page_no and page_no % 10 == 0:
                log(
                    "backfill_progress",
                    connector="dicomweb",
                    site=self.config.site,
                    pages=page_no + 1,
                    seen=stats.seen,
                    sent=stats.sent,
                )
        new_start = max(start, today - timedelta(days=self.config.overlap_days))
        floor = new_start.strftime("%Y%m%d")
        seen = {uid: v for uid, v in seen.items() if v and v[0] >= floor}
        self.state.save({"window_start": new_start.isoformat(), "seen": seen})
        log(
            "poll_done",
            connector="dicomweb",
            site=self.config.site,
            seen=stats.seen,
            sent=stats.sent,
            unchanged=stats.unchanged,
            refused=stats.refused,
            rejected=len(stats.outcome.rejected),
        )
        return stats

    def _study_from_json(
        self,
        raw: Any,
        seen: dict[str, list[str]],
        pending: dict[str, list[str]],
        stats: PollStats,
    ) -> dict[str, Any] | None:
        try:
            if not isinstance(raw, dict):
                raise MappingError(f"not a DICOM JSON object: {type(raw).__name__}")
            attrs = attrs_from_dataset(Dataset.from_json(raw))
        except Exception as exc:  # any malformed input: pydicom raises many kinds
            bad_key = "bad:" + _digest({"raw": _redact(raw)})
            if bad_key not in seen:
                stats.refused += 1
                self.quarantine.add("dicomweb", f"malformed DICOM JSON: {exc}", _redact(raw))
            pending[bad_key] = [self._window_floor, bad_key]
            return None
        uid = str(attrs.get("StudyInstanceUID", ""))
        digest = _digest(attrs)
        if uid and seen.get(uid, ["", ""])[1:] == [digest]:
            stats.unchanged += 1
            return None
        try:
            if (
                self.config.series_lookup
                and uid
                and (not attrs.get("BodyPartExamined") or not attrs.get("ModalitiesInStudy"))
            ):
                extra = self._series_attrs(uid)
                if not attrs.get("ModalitiesInStudy") and extra.get("SeriesModalities"):
                    attrs["ModalitiesInStudy"] = extra["SeriesModalities"]
                if extra.get("BodyPartExamined"):
                    attrs.setdefault("BodyPartExamined", extra["BodyPartExamined"])
            warnings: list[str] = []
            item = study_from_attrs(
                attrs, self.sites, self.mapper, tz=self.config.tz, warnings=warnings
            )
        except MappingError as exc:
            stats.refused += 1
            self.quarantine.add("dicomweb", str(exc), {"StudyInstanceUID": uid or None})
            pending[uid or digest] = [str(attrs.get("StudyDate", "")), digest]
            return None
        for warning in warnings:
            log("mapping_warning", level=30, connector="dicomweb", study_uid=uid, warning=warning)
        pending[uid] = [str(attrs.get("StudyDate", "")), digest]
        return item

    def run(self, stop: threading.Event) -> None:
        """Poll until stopped."""
        run_every(self.config.interval, self.poll_once, stop, name="dicomweb")


def dict_params(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Repeated query keys (includefield) as lists, the form httpx expects."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def _redact(raw: Any) -> Any:
    """A malformed object as kept in quarantine, without the patient's name."""
    if isinstance(raw, dict):
        return {k: v for k, v in raw.items() if str(k).upper() != "00100010"}
    return raw

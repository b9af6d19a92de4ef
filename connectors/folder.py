"""Import a folder of DICOM files once, or keep watching it (polling sizes and mtimes).

The state file remembers each file's size and mtime and what became of it, so a re-run or a
restarted watcher skips files already imported; a file that changes is read again. Every
refused file is named with its reason, on stdout by the CLI and in the quarantine.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.accumulate import digest, merge_instance
from connectors.delivery import DeliveryRejected
from connectors.dicom_map import MappingError, SiteResolver, study_from_attrs
from connectors.dicomfile import RefusedFile, read_header
from connectors.exam_rules import ExamMapper
from connectors.jsonlog import log
from connectors.sink import Outcome, Sink
from connectors.state import Quarantine, StateFile

SKIP_NAMES = frozenset({"DICOMDIR"})


@dataclass
class FolderStats:
    """What one scan did. ``refused`` holds (path, reason) for every refused file."""

    files: int = 0
    imported: int = 0
    skipped: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    studies: int = 0
    outcome: Outcome = field(default_factory=Outcome)


class FolderImporter:
    """Reads DICOM headers from a folder tree and sends one item per study."""

    def __init__(
        self,
        root: Path,
        site: str,
        sink: Sink,
        state_dir: Path,
        mapper: ExamMapper | None = None,
        *,
        tz: str | None = None,
        batch_size: int = 500,
        settle_seconds: float = 0.0,
        institution_sites: dict[str, str] | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.site = site
        self.sink = sink
        key = hashlib.sha256(str(self.root).encode()).hexdigest()[:8]
        self.state = StateFile(state_dir, f"dicom-folder-{site}-{key}")
        self.quarantine = Quarantine(state_dir)
        self.mapper = mapper or ExamMapper()
        self.sites = SiteResolver(site, dict(institution_sites or {}))
        self.tz = tz
        self.batch_size = batch_size
        self.settle_seconds = settle_seconds

    def _candidates(self) -> list[Path]:
        if self.root.is_file():
            return [self.root]
        return sorted(
            p
            for p in self.root.rglob("*")
            if p.is_file() and not p.name.startswith(".") and p.name not in SKIP_NAMES
        )

    def scan_once(self, *, retry_refused: bool = True) -> FolderStats:
        """Read new and changed files, send their studies, record each file's fate."""
        state = self.state.load()
        files: dict[str, list[Any]] = dict(state.get("files", {}))
        sent: dict[str, str] = dict(state.get("studies", {}))
        stats = FolderStats()
        studies: dict[str, dict[str, Any]] = {}
        study_files: dict[str, list[str]] = {}
        now = time.time()
        for path in self._candidates():
            stats.files += 1
            if stats.files % 1000 == 0:
                log(
                    "backfill_progress",
                    connector="dicom-folder",
                    files_read=stats.files,
                    studies=len(studies),
                    refused=len(stats.refused),
                )
            key = str(path.relative_to(self.root)) if path != self.root else path.name
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if self.settle_seconds and now - st.st_mtime < self.settle_seconds:
                continue  # still being written; next pass
            signature = [st.st_mtime_ns, st.st_size]
            known = files.get(key)
            if known and known[:2] == signature and (known[2] == "imported" or not retry_refused):
                stats.skipped += 1
                continue
            try:
                attrs = read_header(path)
            except RefusedFile as exc:
                self._refuse(stats, files, key, path, signature, str(exc))
                continue
            uid = str(attrs["StudyInstanceUID"])
            merge_instance(studies.setdefault(uid, {}), attrs)
            study_files.setdefault(uid, []).append(key)
            files[key] = [*signature, "pending"]
        self._deliver(studies, study_files, files, sent, stats)
        self.state.save({"root": str(self.root), "files": files, "studies": sent})
        log(
            "folder_scan_done",
            connector="dicom-folder",
            root=str(self.root),
            files=stats.files,
            imported=stats.imported,
            skipped=stats.skipped,
            refused=len(stats.refused),
            studies=stats.studies,
        )
        return stats

    def _refuse(
        self,
        stats: FolderStats,
        files: dict[str, list[Any]],
        key: str,
        path: Path,
        signature: list[Any],
        reason: str,
    ) -> None:
        stats.refused.append((str(path), reason))
        files[key] = [*signature, "refused", reason]
        self.quarantine.add("dicom-folder", reason, None, file=str(path))

    def _deliver(
        self,
        studies: dict[str, dict[str, Any]],
        study_files: dict[str, list[str]],
        files: dict[str, list[Any]],
        sent: dict[str, str],
        stats: FolderStats,
    ) -> None:
        items: list[tuple[str, dict[str, Any]]] = []
        for uid, attrs in studies.items():
            try:
                item = study_from_attrs(attrs, self.sites, self.mapper, tz=self.tz)
            except MappingError as exc:
                for key in study_files[uid]:
                    self._refuse(stats, files, key, self.root / key, files[key][:2], str(exc))
                continue
            if sent.get(uid) == digest(item):
                for key in study_files[uid]:
                    files[key][2] = "imported"
                stats.imported += len(study_files[uid])
                continue
            items.append((uid, item))
        for start in range(0, len(items), self.batch_size):
            chunk = items[start : start + self.batch_size]
            outcome = self.sink.studies([item for _, item in chunk])
            stats.outcome.add(outcome)
            rejected = {r["index"]: r["error"] for r in outcome.rejected}
            for i, (uid, item) in enumerate(chunk):
                for key in study_files[uid]:
                    if i in rejected:
                        reason = f"rejected by the service: {rejected[i]}"
                        stats.refused.append((str(self.root / key), reason))
                        files[key] = [*files[key][:2], "refused", reason]
                    else:
                        files[key][2] = "imported"
                        stats.imported += 1
                if i not in rejected:
                    sent[uid] = digest(item)
                    stats.studies += 1
            if len(items) > self.batch_size:
                log(
                    "backfill_progress",
                    connector="dicom-folder",
                    studies_sent=start + len(chunk),
                    studies_total=len(items),
                )

    def watch(self, stop: threading.Event, interval: float = 2.0) -> None:
        """Scan until stopped; refused files are named once until they change."""
        first = True
        while not stop.is_set():
            try:
                self.scan_once(retry_refused=first)
                first = False
            except DeliveryRejected as exc:
                if exc.is_auth:
                    raise  # a wrong token will not fix itself
                log("folder_scan_failed", level=40, root=str(self.root), error=str(exc))
            except Exception as exc:  # keep watching whatever one pass hit
                log(
                    "folder_scan_failed",
                    level=40,
                    root=str(self.root),
                    error=f"{type(exc).__name__}: {exc}",
                )
            stop.wait(interval)

"""DICOM C-STORE SCP: receives images, reads their headers only, and ingests one item per study.

Nothing is stored but the header attributes. Instances are merged per study in memory and in
the state file (saved before the C-STORE is answered whenever a study changes, so an accepted
image is never lost by a crash); a flusher thread delivers the changed studies in batches.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any, cast

from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset
from pydicom.tag import BaseTag
from pydicom.uid import UID, AllTransferSyntaxes
from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.dimse_primitives import C_STORE

from connectors.accumulate import digest
from connectors.delivery import DeliveryError
from connectors.dicom_map import MappingError, SiteResolver, attrs_from_dataset, study_from_attrs
from connectors.exam_rules import ExamMapper
from connectors.jsonlog import log
from connectors.sink import Sink
from connectors.state import Quarantine
from connectors.studystore import StudyStore

SUCCESS = 0x0000
CANNOT_UNDERSTAND = 0xC000
OUT_OF_RESOURCES = 0xA700
VERIFICATION = "1.2.840.10008.1.1"
ALL_TRANSFER_SYNTAXES = [str(ts) for ts in AllTransferSyntaxes]
SENT_RETENTION = timedelta(days=7)


@dataclass
class ScpConfig:
    """How to listen."""

    port: int
    ae_title: str
    site: str
    host: str = "0.0.0.0"
    flush_interval: float = 2.0
    batch_size: int = 500
    tz: str | None = None
    calling_ae_sites: dict[str, str] = field(default_factory=dict)
    institution_sites: dict[str, str] = field(default_factory=dict)


def _stop_at_pixels(tag: BaseTag, vr: str | None, length: int) -> bool:
    return int(tag) >= 0x7FE00010


def header_from_event(event: evt.Event) -> Dataset:
    """The received dataset up to (not including) the pixel data."""
    ts = UID(str(event.context.transfer_syntax))
    raw = cast(C_STORE, event.request).DataSet
    if ts.is_deflated or raw is None:
        ds: Dataset = event.dataset
        return ds
    raw.seek(0)
    return read_dataset(
        BytesIO(raw.getvalue()),
        ts.is_implicit_VR,
        ts.is_little_endian,
        stop_when=_stop_at_pixels,
    )


class StoreScp:
    """One listening Application Entity for one site (or several, by calling AE title)."""

    def __init__(
        self,
        config: ScpConfig,
        sink: Sink,
        state_dir: Path,
        mapper: ExamMapper | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        self.store = StudyStore(state_dir, f"dicom-scp-{config.site}")
        self.quarantine = Quarantine(state_dir)
        self.mapper = mapper or ExamMapper()
        self._stop = threading.Event()
        self._server: Any = None
        self._flusher: threading.Thread | None = None
        self._flush_lock = threading.Lock()
        self.received = 0

    # -- receiving ----------------------------------------------------------------------------
    def handle_store(self, event: evt.Event) -> int:
        """Merge one instance's header into its study (committed), then answer the C-STORE."""
        calling = str(event.assoc.requestor.ae_title).strip()
        try:
            attrs = attrs_from_dataset(header_from_event(event))
        except Exception as exc:  # a dataset pydicom cannot parse
            self.quarantine.add("dicom-scp", f"unreadable dataset: {exc}", None, calling_ae=calling)
            return CANNOT_UNDERSTAND
        uid = attrs.get("StudyInstanceUID")
        if not uid:
            self.quarantine.add(
                "dicom-scp",
                "no StudyInstanceUID in the dataset",
                None,
                calling_ae=calling,
                sop_instance_uid=str(cast(C_STORE, event.request).AffectedSOPInstanceUID),
            )
            return CANNOT_UNDERSTAND
        attrs["_site"] = self.config.calling_ae_sites.get(calling, self.config.site)
        try:
            self.store.merge(str(uid), attrs)
        except Exception as exc:  # disk full, locked database: the sender should retry
            log("state_write_failed", level=40, connector="dicom-scp", error=str(exc))
            return OUT_OF_RESOURCES
        self.received += 1
        return SUCCESS

    # -- delivering ---------------------------------------------------------------------------
    def flush(self) -> int:
        """Deliver every study changed since it was last delivered; returns how many were sent."""
        with self._flush_lock:
            sent = 0
            while True:
                dirty = self.store.dirty(limit=self.config.batch_size)
                if not dirty:
                    break
                batch: list[tuple[str, int, dict[str, Any]]] = []
                for uid, attrs, version, last_digest in dirty:
                    site = str(attrs.pop("_site", self.config.site))
                    resolver = SiteResolver(site, dict(self.config.institution_sites))
                    try:
                        item = study_from_attrs(attrs, resolver, self.mapper, tz=self.config.tz)
                    except MappingError as exc:
                        self.quarantine.add("dicom-scp", str(exc), {"StudyInstanceUID": uid})
                        self.store.mark_sent(uid, version, None)
                        continue
                    if digest(item) == last_digest:
                        self.store.mark_sent(uid, version, None)
                        continue
                    batch.append((uid, version, item))
                if batch:
                    self.sink.studies([item for _, _, item in batch])  # refusals quarantined
                    for uid, version, item in batch:
                        self.store.mark_sent(uid, version, digest(item))
                    sent += len(batch)
            self.store.prune(SENT_RETENTION.total_seconds())
            return sent

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.config.flush_interval):
            self._safe_flush()
        self._safe_flush()

    def _safe_flush(self) -> None:
        try:
            self.flush()
        except DeliveryError as exc:
            log("flush_failed", level=40, connector="dicom-scp", error=str(exc))

    # -- lifecycle ----------------------------------------------------------------------------
    def make_ae(self) -> AE:
        ae = AE(ae_title=self.config.ae_title)
        # Only the header is read, and it is never compressed: accept every transfer syntax
        # (JPEG, JPEG-LS, JPEG 2000, RLE, ...) so a modality never has to decompress for us.
        for context in AllStoragePresentationContexts:
            if context.abstract_syntax is not None:
                ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(VERIFICATION)
        ae.maximum_pdu_size = 0
        return ae

    def start(self) -> None:
        """Listen (in background threads) and start the flusher."""
        ae = self.make_ae()
        self._server = ae.start_server(
            (self.config.host, self.config.port),
            block=False,
            evt_handlers=[(evt.EVT_C_STORE, self.handle_store)],
        )
        self._flusher = threading.Thread(target=self._flush_loop, name="scp-flush", daemon=True)
        self._flusher.start()
        log(
            "scp_listening",
            host=self.config.host,
            port=self.config.port,
            ae_title=self.config.ae_title,
            site=self.config.site,
        )

    def stop(self) -> None:
        """Stop listening, then deliver what is pending."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join(timeout=60)
            self._flusher = None
        self.store.close()

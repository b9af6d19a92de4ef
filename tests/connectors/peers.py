"""Real peers for the connector tests: Orthanc (with DICOMweb), dcmtk tools, DICOM files."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

REQUIRE_ALL = os.environ.get("WORKLIST_TEST_REQUIRE_ALL") == "1"
PLUGIN_DIRS = (
    "/usr/share/orthanc/plugins",
    "/usr/lib/orthanc",
    "/usr/lib/x86_64-linux-gnu/orthanc",
)


def need(what: str, found: object) -> None:
    """Skip without the peer, or fail when CI requires every peer (WORKLIST_TEST_REQUIRE_ALL)."""
    if found:
        return
    message = f"{what} is not installed (Debian packages orthanc, orthanc-dicomweb, dcmtk)"
    if REQUIRE_ALL:
        pytest.fail(f"{message}; WORKLIST_TEST_REQUIRE_ALL=1 requires it")
    pytest.skip(message)


def dcmtk(tool: str) -> str:
    """The dcmtk binary (not pynetdicom's app of the same name in the venv)."""
    for directory in [*os.environ.get("PATH", "").split(os.pathsep), "/usr/bin"]:
        candidate = Path(directory) / tool
        if candidate.is_file() and os.access(candidate, os.X_OK):
            version = subprocess.run([str(candidate), "--version"], capture_output=True, text=True)
            if "dcmtk" in (version.stdout + version.stderr).lower():
                return str(candidate)
    need(f"dcmtk's {tool}", None)
    raise AssertionError("unreachable")


def dicomweb_plugin() -> str | None:
    for directory in PLUGIN_DIRS:
        path = Path(directory)
        if path.is_dir():
            for candidate in sorted(path.glob("libOrthancDicomWeb.so*")):
                return str(candidate)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Orthanc:
    url: str
    dicom_port: int
    aet: str
    process: subprocess.Popen[bytes]

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicom-web"

    def upload(self, path: Path) -> None:
        response = httpx.post(f"{self.url}/instances", content=path.read_bytes(), timeout=30)
        response.raise_for_status()

    def wait_stable(self, count: int, timeout: float = 20.0) -> None:
        """Wait until ``count`` StableStudy changes are in the change log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = httpx.get(f"{self.url}/changes", params={"since": 0, "limit": 10000}).json()
            stable = [c for c in body["Changes"] if c["ChangeType"] == "StableStudy"]
            if len(stable) >= count:
                return
            time.sleep(0.3)
        raise AssertionError(f"Orthanc did not report {count} stable studies in {timeout}s")


def start_orthanc(workdir: Path) -> Iterator[Orthanc]:
    binary = shutil.which("Orthanc") or (
        "/usr/sbin/Orthanc" if Path("/usr/sbin/Orthanc").exists() else None
    )
    need("Orthanc", binary)
    plugin = dicomweb_plugin()
    need("the Orthanc DICOMweb plugin", plugin)
    assert binary is not None and plugin is not None
    http_port, dicom_port = free_port(), free_port()
    storage = workdir / "orthanc-db"
    storage.mkdir(parents=True, exist_ok=True)
    config = {
        "Name": "worklist-test",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": "ORTHANC",
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "HttpServerEnabled": True,
        "Plugins": [plugin],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "StableAge": 1,
        "DicomCheckCalledAet": False,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowStore": True,
        "UnknownSopClassAccepted": True,
        "SaveJobs": False,
    }
    config_path = workdir / "orthanc.json"
    config_path.write_text(json.dumps(config))
    log = (workdir / "orthanc.log").open("wb")
    process = subprocess.Popen([binary, str(config_path)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"Orthanc exited: {(workdir / 'orthanc.log').read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{url}/system", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("Orthanc did not start in 30 s")
        yield Orthanc(url, dicom_port, "ORTHANC", process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def reidentified_copy(
    source: str,
    dest: Path,
    *,
    accession: str,
    when: datetime,
    description: str | None = None,
    patient_id: str = "TESTPAT1",
    study_uid: str | None = None,
    instance: int = 1,
) -> str:
    """Copy a pydicom test file with a new study uid, accession and date; returns the uid."""
    path = get_testdata_file(source)
    assert path is not None
    ds = dcmread(path)
    uid = study_uid or generate_uid()
    ds.StudyInstanceUID = uid
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[uid, "series", source])
    ds.SOPInstanceUID = generate_uid(entropy_srcs=[uid, "sop", source, str(instance)])
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.AccessionNumber = accession
    ds.StudyDate = when.strftime("%Y%m%d")
    ds.StudyTime = when.strftime("%H%M%S")
    ds.TimezoneOffsetFromUTC = "+0000"
    ds.PatientID = patient_id
    ds.PatientName = "TEST^SECRET"
    ds.PatientAge = "067Y"
    if description is not None:
        ds.StudyDescription = description
    dest.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(dest)
    return str(uid)

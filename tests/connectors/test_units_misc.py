"""State files, quarantine, DICOM file checks, delivery retries, simulator (no peers needed)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from connectors.delivery import DeliveryError, DeliveryRejected, FeedClient
from connectors.dicomfile import RefusedFile, read_header
from connectors.dicomweb import DicomwebPoller, PollStats, QidoConfig
from connectors.simulator import generate_studies
from connectors.sink import Sink
from connectors.state import Quarantine, StateFile
from tests.connectors.peers import reidentified_copy

WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_state_file_roundtrip_and_corruption(tmp_path: Path) -> None:
    state = StateFile(tmp_path, "orthanc-RXK")
    assert state.load() == {}
    state.save({"last_seq": 12})
    assert StateFile(tmp_path, "orthanc-RXK").load() == {"last_seq": 12}
    state.path.write_text("{not json")
    assert state.load() == {}
    assert list(tmp_path.glob("orthanc-RXK.corrupt-*"))


def test_quarantine_records(tmp_path: Path) -> None:
    q = Quarantine(tmp_path)
    q.add("hl7", "unparseable", "garbage", ack="AR")
    [record] = q.records()
    assert record["reason"] == "unparseable" and record["ack"] == "AR"


def test_dicom_file_checks(tmp_path: Path) -> None:
    good = tmp_path / "good.dcm"
    uid = reidentified_copy("CT_small.dcm", good, accession="A1", when=WHEN)
    attrs = read_header(good)
    assert attrs["StudyInstanceUID"] == uid and "PatientName" not in attrs
    data = good.read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[: len(data) - 100])
    with pytest.raises(RefusedFile, match="truncated"):
        read_header(tmp_path / "cut.dcm")
    (tmp_path / "cut2.dcm").write_bytes(data[:1001])
    with pytest.raises(RefusedFile, match="truncated"):
        read_header(tmp_path / "cut2.dcm")
    (tmp_path / "notes.txt").write_text("hello, not DICOM" * 20)
    with pytest.raises(RefusedFile, match="not a DICOM file"):
        read_header(tmp_path / "notes.txt")


def _client(handler: httpx.MockTransport) -> FeedClient:
    return FeedClient(
        "http://service", "t", transport=handler, sleep=lambda _: None, max_attempts=3, batch_size=2
    )


def test_delivery_retries_5xx_not_4xx() -> None:
    calls: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(503)
        n = len(request.read()) and len(httpx.Response(200, content=request.content).json())
        return httpx.Response(
            200, json={"created": n, "updated": 0, "rejected": [{"index": 0, "error": "bad"}]}
        )

    result = _client(httpx.MockTransport(flaky)).post_studies([{"a": 1}, {"a": 2}, {"a": 3}])
    assert result["created"] == 3
    assert [r["index"] for r in result["rejected"]] == [0, 2]  # indexes across chunks
    assert len(calls) == 3

    def forbidden(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(403, json={"detail": "no"})

    calls.clear()
    with pytest.raises(DeliveryRejected):
        _client(httpx.MockTransport(forbidden)).post_orders([{"a": 1}])
    assert len(calls) == 1

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(DeliveryError, match="gave up after 3"):
        _client(httpx.MockTransport(down)).post_reports([{"a": 1}])


def test_malformed_dicom_json_is_quarantined_once(tmp_path: Path) -> None:
    sink = Sink(FeedClient("http://unused", "t"), Quarantine(tmp_path), "dicomweb")
    poller = DicomwebPoller(QidoConfig(url="http://unused", site="RXK"), sink, tmp_path)
    seen: dict[str, list[str]] = {}
    pending: dict[str, list[str]] = {}
    stats = PollStats()
    bad = {"0020000D": {"vr": "UI", "Value": "not-a-list"}, "00100010": {"vr": "PN"}}
    assert poller._study_from_json(bad, seen, pending, stats) is None
    assert poller._study_from_json(["nope"], seen, pending, stats) is None
    assert stats.refused == 2
    seen.update(pending)
    assert poller._study_from_json(bad, seen, {}, stats) is None
    assert stats.refused == 2  # not quarantined again
    records = Quarantine(tmp_path).records()
    assert len(records) == 2 and "malformed DICOM JSON" in records[0]["reason"]
    assert "00100010" not in str(records[0]["item"])


def test_simulator_is_deterministic_and_realistic() -> None:
    a = generate_studies(5000, ["RXK", "RL4"], WHEN, seed=3)
    assert a == generate_studies(5000, ["RXK", "RL4"], WHEN, seed=3)
    assert a != generate_studies(5000, ["RXK", "RL4"], WHEN, seed=4)
    assert len({s["study_uid"] for s in a}) == 5000
    share = Counter(s["modality"] for s in a)
    xr = (share["CR"] + share["DX"]) / len(a)
    assert 0.45 < xr < 0.55
    assert 0.21 < share["US"] / len(a) < 0.29
    assert 0.12 < share["CT"] / len(a) < 0.18
    assert 0.07 < share["MR"] / len(a) < 0.11
    assert {s["patient_source"] for s in a} == {"ed", "inpatient", "outpatient", "gp"}
    urgencies = Counter(s["urgency"] for s in a)
    assert urgencies["stroke"] and urgencies["trauma"] and urgencies["cancer"]
    for s in a:
        if s["modality"] in {"CR", "DX"}:
            assert (s.get("exam_code") or "X").startswith("X")
        assert 0 <= s["patient_age"] <= 100
        assert datetime.fromisoformat(s["acquired_at"]) >= WHEN
    mammo = [s for s in a if s["modality"] == "MG"]
    assert all(s["body_part"] == "BREAST" for s in mammo)

"""Second reads: sampled reports go to a radiologist other than the author, the outcome is
recorded and summarised by site and reporter group without naming anyone."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer, mint
from tests.sourcing.helpers import network, pull_and_complete, reporter, session
from tests.worklist.helpers import study
from worklist.reviews.sampling import draw, rule_for
from worklist.settings import Settings

XR = [{"modalities": ["CR"], "body_parts": ["CHEST"]}]


@pytest.mark.sourcing_settings(review_share_radiographer=1.0, review_share_all=1.0)
def test_second_reads_never_go_to_the_author(client: TestClient) -> None:
    network(client)
    rg = reporter(client, "rg1", group="radiographer", scope=XR)
    rad1 = reporter(client, "rad1")
    rad2 = reporter(client, "rad2", sites=["RL4"], home_site="RL4")
    client.post(
        "/api/v1/studies", json=[study("50.1"), study("50.2", modality="CT", body_part="HEAD")]
    )
    session(client, rg)
    assert pull_and_complete(client, rg, 1) == ["50.1"]
    session(client, rad1)
    assert pull_and_complete(client, rad1, 1) == ["50.2"]
    events = client.get("/api/v1/studies/50.1").json()["events"]
    assert events[-1]["kind"] == "review-sampled"
    assert events[-1]["detail"]["rule"] == "radiographer-share"
    assert client.get("/api/v1/studies/50.2").json()["events"][-1]["detail"]["rule"] == (
        "all-reports-share"
    )
    # a radiographer does not second-read; a radiologist without the site's credential
    # gets nothing; the author never gets their own report.
    assert client.post("/api/v1/worklist/reviews/next", headers=rg).status_code == 403
    session(client, rad2)
    assert client.post("/api/v1/worklist/reviews/next", headers=rad2).status_code == 204
    task = client.post("/api/v1/worklist/reviews/next", headers=rad1)
    assert task.status_code == 200, task.text
    body = task.json()
    assert body["study"]["study_uid"] == "50.1" and body["reason"]["rule"] == "second-read"
    assert body["author_group"] == "radiographer" and "rg1" not in json.dumps(body)
    assert (
        client.post("/api/v1/worklist/reviews/next", headers=rad1).json()["review_id"]
        == (body["review_id"])
    )  # their unfinished review comes back first
    rid = body["review_id"]
    assert (
        client.post(
            f"/api/v1/worklist/reviews/{rid}/outcome", json={"outcome": "minor"}, headers=rad2
        ).status_code
        == 403
    )
    done = client.post(
        f"/api/v1/worklist/reviews/{rid}/outcome",
        json={"outcome": "minor", "comment": "rib fracture missed"},
        headers=rad1,
    )
    assert done.status_code == 200 and done.json()["outcome"] == "minor"
    assert (
        client.post(
            f"/api/v1/worklist/reviews/{rid}/outcome", json={"outcome": "agree"}, headers=rad1
        ).status_code
        == 409
    )
    # rad1's own report (50.2) is the only one left: never handed to its author
    assert client.post("/api/v1/worklist/reviews/next", headers=rad1).status_code == 204
    events = client.get("/api/v1/studies/50.1").json()["events"]
    assert [e["kind"] for e in events[-2:]] == ["review-claimed", "review-outcome"]
    assert events[-1]["detail"]["outcome"] == "minor"
    mine = client.get("/api/v1/worklist/reviews/mine", headers=rg).json()["items"]
    assert mine == [
        {
            "review_id": rid,
            "study_uid": "50.1",
            "outcome": "minor",
            "comment": "rib fracture missed",
            "completed_at": mine[0]["completed_at"],
        }
    ]

    lead = bearer(mint(client, "lead"))
    summary = client.get("/api/v1/reviews/summary", headers=lead)
    assert summary.status_code == 200
    rows = {(r["site"], r["group"]): r for r in summary.json()["rows"]}
    assert set(rows) == {
        ("RXK", "radiographer"),
        ("RXK", "radiologist"),
        (None, "radiographer"),
        (None, "radiologist"),
    }
    net = rows[(None, "radiographer")]
    assert (net["sampled"], net["reviewed"], net["minor"], net["major"]) == (1, 1, 1, 0)
    assert net["discrepancy_rate"] == 1.0 and net["major_rate"] == 0.0
    assert rows[(None, "radiologist")]["reviewed"] == 0
    text = summary.text
    assert "rg1" not in text and "rad1" not in text and "rad2" not in text
    assert client.get("/api/v1/reviews/summary", headers=rg).status_code == 403


def test_sampling_shares_are_met_and_reproducible() -> None:
    settings = Settings(
        review_share_radiographer=0.2, review_share_registrar=0.1, review_share_all=0.05
    )
    secret = b"network-secret"
    uids = [f"1.2.3.{i}" for i in range(4000)]
    draws = [draw(secret, u) for u in uids]
    assert draws == [draw(secret, u) for u in uids]
    assert draws != [draw(b"other", u) for u in uids]
    for group, share in (("radiographer", 0.2), ("registrar", 0.1), ("radiologist", 0.05)):
        picked = sum(rule_for(settings, group, u) is not None for u in draws) / len(draws)
        assert abs(picked - share) < 0.025, (group, picked)


@pytest.mark.sourcing_settings(review_share_all=1.0)
def test_concurrent_pulls_never_share_a_review(client: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    network(client)
    author = reporter(client, "author")
    client.post("/api/v1/studies", json=[study(f"51.{i}") for i in range(3)])
    session(client, author)
    assert len(pull_and_complete(client, author, 3)) == 3
    readers = [reporter(client, f"rev{i}") for i in range(8)]
    for who in readers:
        session(client, who)

    def pull(who: dict[str, str]) -> int | None:
        r = client.post("/api/v1/worklist/reviews/next", headers=who)
        assert r.status_code in (200, 204), r.text
        return int(r.json()["review_id"]) if r.status_code == 200 else None

    with ThreadPoolExecutor(8) as pool:
        got = [g for g in pool.map(pull, readers) if g is not None]
    assert len(got) == 3 and len(set(got)) == 3

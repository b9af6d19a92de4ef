"""A realistic demo network: a dozen sites, ~60 reporters of all three groups, two providers."""

from __future__ import annotations

import random
from typing import Any

NETWORK = "wm"
SITES: dict[str, str] = {
    "RXK": "Sandwell General",
    "RL4": "New Cross Wolverhampton",
    "RRK": "Queen Elizabeth Birmingham",
    "RJE": "Royal Stoke",
    "RLQ": "Hereford County",
    "RNA": "Russells Hall Dudley",
    "RWP": "Worcestershire Royal",
    "RBK": "Manor Hospital Walsall",
    "RKB": "University Hospital Coventry",
    "RJC": "Warwick Hospital",
    "RXW": "Royal Shrewsbury",
    "RR1": "Heartlands Birmingham",
}
SUBSPECIALTIES = [
    "neuro",
    "msk",
    "chest",
    "abdominal",
    "urogynae",
    "breast",
    "paediatrics",
    "cardiac",
    "headneck",
    "vascular",
    "nuclear",
]
ADULT_MSK = ["HAND", "WRIST", "ELBOW", "SHOULDER", "KNEE", "ANKLE", "FOOT", "HIP", "PELVIS"]
RADIOGRAPHER_SCOPES: list[list[dict[str, Any]]] = [
    [
        {
            "modalities": ["CR", "DX"],
            "body_parts": ADULT_MSK,
            "min_age": 16,
            "patient_sources": ["ed", "gp", "outpatient"],
        }
    ],
    [
        {
            "modalities": ["CR", "DX"],
            "body_parts": ["CHEST"],
            "min_age": 16,
            "patient_sources": ["gp", "outpatient"],
        }
    ],
    [
        {
            "modalities": ["CR", "DX"],
            "body_parts": ["CHEST"],
            "min_age": 16,
            "patient_sources": ["gp", "outpatient", "ed"],
        },
        {"modalities": ["CR", "DX"], "body_parts": ADULT_MSK, "min_age": 16},
    ],
    [{"modalities": ["CR", "DX"], "body_parts": [*ADULT_MSK, "CSPINE", "LSPINE"], "min_age": 5}],
    [
        {
            "modalities": ["MR"],
            "body_parts": ["KNEE", "LSPINE"],
            "min_age": 18,
            "patient_sources": ["outpatient", "gp"],
        },
        {"modalities": ["CR", "DX"], "body_parts": ADULT_MSK, "min_age": 16},
    ],
    [{"modalities": ["MG"], "patient_sources": ["outpatient", "gp"], "exam_codes": ["MGSCR"]}],
    [
        {"modalities": ["CT"], "exam_codes": ["CTCOL"]},
        {
            "modalities": ["CR", "DX"],
            "body_parts": ["ABDOMEN", "CHEST"],
            "min_age": 16,
            "patient_sources": ["gp", "outpatient"],
        },
    ],
]
PROVIDERS: dict[str, dict[str, Any]] = {
    "teleradco": {
        "name": "TeleRad Co",
        "modalities": ["CT", "MR", "CR", "DX"],
        "price": {"CT": 40.0, "MR": 55.0, "CR": 9.0, "DX": 9.0},
        "tat_hours": 72,
    },
    "nightrad": {
        "name": "NightHawk Reporting",
        "modalities": ["CT", "MR", "US", "NM", "PT"],
        "price": {"CT": 48.0, "MR": 62.0, "US": 20.0, "NM": 70.0, "PT": 110.0},
        "tat_hours": 24,
    },
}


def reporters(
    seed: int = 7, radiologists: int = 32, registrars: int = 10, radiographers: int = 20
) -> dict[str, dict[str, Any]]:
    """The demo team (62 by default); benchmarks ask for larger teams of the same make-up."""
    rng = random.Random(seed)
    codes = list(SITES)
    out: dict[str, dict[str, Any]] = {}
    for i in range(radiologists):
        home = codes[i % len(codes)]
        extra = rng.sample([c for c in codes if c != home], k=rng.randint(1, 4))
        out[f"rad{i + 1:03d}"] = {
            "name": f"Dr Radiologist {i + 1}",
            "group": "radiologist",
            "home_site": home,
            "sites": [home, *extra],
            "subspecialties": rng.sample(SUBSPECIALTIES, k=rng.randint(1, 2)),
            "scope": [],
        }
    for i in range(registrars):
        home = codes[(i * 5) % len(codes)]
        out[f"reg{i + 1:03d}"] = {
            "name": f"Dr Registrar {i + 1}",
            "group": "registrar",
            "home_site": home,
            "sites": [home],
            "subspecialties": [],
            "scope": [{"modalities": ["CR", "DX", "CT"], "patient_sources": ["ed", "inpatient"]}],
        }
    for i in range(radiographers):
        home = codes[(i * 7) % len(codes)]
        extra = rng.sample([c for c in codes if c != home], k=rng.randint(0, 2))
        out[f"rg{i + 1:03d}"] = {
            "name": f"Reporting Radiographer {i + 1}",
            "group": "radiographer",
            "home_site": home,
            "sites": [home, *extra],
            "subspecialties": [],
            "scope": RADIOGRAPHER_SCOPES[i % len(RADIOGRAPHER_SCOPES)],
        }
    return out

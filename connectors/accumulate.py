"""Instances -> studies: merge the headers of a study's instances into one study-level record.

C-STORE and folder imports see instances, one at a time and in any order; the API wants one
item per study. Modalities are unioned; other attributes keep the first non-empty value.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson


def merge_instance(study: dict[str, Any], attrs: dict[str, Any]) -> bool:
    """Fold one instance's attributes into ``study``; True when the study changed."""
    changed = False
    modality = attrs.get("Modality")
    if modality:
        known = list(study.get("ModalitiesInStudy", []))
        if str(modality) not in known:
            study["ModalitiesInStudy"] = sorted([*known, str(modality)])
            changed = True
    for key, value in attrs.items():
        if key in {"Modality", "SeriesDescription"} and key in study:
            continue
        if value not in (None, "", []) and key not in study:
            study[key] = value
            changed = True
    return changed


def digest(item: dict[str, Any]) -> str:
    """A short fingerprint of what was (or would be) sent for a study."""
    return hashlib.sha256(orjson.dumps(item, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]

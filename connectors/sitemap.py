"""Name -> site code mappings (sending facility, calling AE title, institution name)."""

from __future__ import annotations

from pathlib import Path

import yaml

from connectors.exam_rules import ConfigError


def load_site_map(path: Path) -> dict[str, str]:
    """A YAML/JSON file mapping names to site codes, or inline ``NAME=SITE,NAME2=SITE2``."""
    if Path(path).exists():
        text = Path(path).read_text(encoding="utf-8")
    elif "=" in str(path):
        text = str(path)
    else:
        raise ConfigError(f"{path}: no such file (and not NAME=SITE,... text)")
    if "=" in text and "\n" not in text.strip() and ":" not in text:
        pairs = [p.split("=", 1) for p in text.split(",") if "=" in p]
        return {k.strip(): v.strip() for k, v in pairs}
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML/JSON: {exc}") from exc
    if isinstance(doc, dict) and isinstance(doc.get("sites"), dict):
        doc = doc["sites"]
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping of names to site codes")
    return {str(k): str(v) for k, v in doc.items()}

"""Study description or requested procedure code -> exam catalogue code and body part.

Rules come from a YAML or CSV file a network maintains (or the built-in catalogue). An unmapped
study still flows: it just carries no exam code, and the server applies its modality defaults.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from connectors.catalogue import CATALOGUE, DESCRIPTION_MODALITY_PREFIXES


@dataclass(frozen=True)
class ExamMatch:
    """What a rule decided; either part may be None."""

    exam_code: str | None
    body_part: str | None


@dataclass(frozen=True)
class Rule:
    """Match a description (regex, case-insensitive) or an exact procedure code, per modality."""

    pattern: re.Pattern[str] | None
    codes: frozenset[str]
    modalities: frozenset[str]
    exam_code: str | None
    body_part: str | None

    def matches(self, modality: str | None, code: str | None, description: str | None) -> bool:
        if self.modalities and modality is not None and modality not in self.modalities:
            return False
        if code and code.upper() in self.codes:
            return True
        if self.pattern is None:
            return False
        return any(text and self.pattern.search(text) for text in (description, code))


class ConfigError(ValueError):
    """A rules or mapping file that cannot be used."""


def _split(value: Any) -> frozenset[str]:
    if value is None or value == "":
        return frozenset()
    if isinstance(value, str):
        parts: Iterable[Any] = re.split(r"[,;|\s]+", value)
    else:
        parts = value
    return frozenset(str(p).strip().upper() for p in parts if str(p).strip())


def _rule_from_mapping(raw: dict[str, Any], where: str) -> Rule:
    pattern_text = raw.get("match") or raw.get("pattern")
    codes = _split(raw.get("codes") or raw.get("code"))
    if not pattern_text and not codes:
        raise ConfigError(f"{where}: a rule needs 'match' (regex) or 'codes'")
    try:
        pattern = re.compile(str(pattern_text), re.IGNORECASE) if pattern_text else None
    except re.error as exc:
        raise ConfigError(f"{where}: bad regex {pattern_text!r}: {exc}") from exc
    exam_code = str(raw["exam_code"]).strip() if raw.get("exam_code") else None
    body_part = str(raw["body_part"]).strip().upper() if raw.get("body_part") else None
    if exam_code is None and body_part is None:
        raise ConfigError(f"{where}: a rule needs 'exam_code' and/or 'body_part'")
    return Rule(
        pattern, codes, _split(raw.get("modalities") or raw.get("modality")), exam_code, body_part
    )


def default_rules() -> list[Rule]:
    """Rules built from the built-in catalogue."""
    return [
        Rule(
            re.compile(exam.pattern, re.IGNORECASE),
            frozenset({exam.code} if exam.code else ()),
            frozenset(exam.modalities),
            exam.code,
            exam.body_part,
        )
        for exam in CATALOGUE
    ]


def load_rules(path: Path) -> list[Rule]:
    """Read rules from ``.yaml``/``.yml`` (a list, or ``{rules: [...]}``) or ``.csv``.

    CSV columns: ``match, codes, modalities, exam_code, body_part``. A YAML file with
    ``include_defaults: true`` appends the built-in rules after its own.
    """
    path = Path(path)
    include_defaults = False
    raws: list[dict[str, Any]]
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            raws = [dict(row) for row in csv.DictReader(handle)]
    else:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if isinstance(doc, dict):
            include_defaults = bool(doc.get("include_defaults", False))
            doc = doc.get("rules", [])
        if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
            raise ConfigError(f"{path}: expected a list of rules")
        raws = doc
    rules = [_rule_from_mapping(raw, f"{path}, rule {i + 1}") for i, raw in enumerate(raws)]
    return rules + default_rules() if include_defaults else rules


class ExamMapper:
    """Applies rules in order; the first match wins."""

    def __init__(self, rules: Sequence[Rule] | None = None) -> None:
        self.rules = list(default_rules() if rules is None else rules)

    @classmethod
    def from_file(cls, path: Path | None) -> ExamMapper:
        return cls(load_rules(path) if path is not None else None)

    def map(
        self, modality: str | None, description: str | None, code: str | None = None
    ) -> ExamMatch:
        """The exam code and body part for a study or an order; ``(None, None)`` if unmapped."""
        if modality is None and description:
            return self._map_any_modality(description, code)
        for rule in self.rules:
            if rule.matches(modality, code, description):
                return ExamMatch(rule.exam_code, rule.body_part)
        return ExamMatch(None, None)

    def _map_any_modality(self, description: str, code: str | None) -> ExamMatch:
        """No modality known (an order): take it from the description's prefix, if any."""
        first = description.strip().split(" ", 1)[0].upper().rstrip(":-")
        modalities = DESCRIPTION_MODALITY_PREFIXES.get(first)
        for rule in self.rules:
            if modalities and rule.modalities and not (rule.modalities & set(modalities)):
                continue
            if rule.matches(None, code, description):
                return ExamMatch(rule.exam_code, rule.body_part)
        return ExamMatch(None, None)

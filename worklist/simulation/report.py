"""Turn outcomes into the figures a network lead compares: per urgency and overall."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from worklist.policy import URGENCIES
from worklist.simulation.engine import Outcome

PLAIN_XRAY = frozenset({"CR", "DX"})


def _pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _reported(o: Outcome, end_ms: int) -> int | None:
    """The report time if it falls in the simulated period."""
    return o.reported_ms if o.reported_ms is not None and o.reported_ms <= end_ms else None


def _on_time(o: Outcome) -> bool:
    return o.reported_ms is not None and o.reported_ms <= o.study.queued.due_ms


def _within_pct(on_time: int, reported: int, overdue_waiting: int) -> float | None:
    """Reported on time as a share of every study that was reported or fell due in the
    period. Counting reported studies only would reward a policy for leaving its late work
    unreported (or for outsourcing it to a provider that reports after the period ends): a
    study still waiting past its due time is a breach."""
    base = reported + overdue_waiting
    return round(100 * on_time / base, 1) if base else None


def _overdue_waiting(items: Iterable[Outcome], end_ms: int) -> int:
    return sum(1 for o in items if _reported(o, end_ms) is None and o.study.queued.due_ms < end_ms)


def urgency_rows(outcomes: Iterable[Outcome], end_ms: int) -> list[dict[str, Any]]:
    """Per urgency: studies, reported, % within target (of those reported or due in the
    period), median/p90 TAT, breaches, waiting."""
    groups: dict[str, list[Outcome]] = {u: [] for u in URGENCIES}
    for o in outcomes:
        groups.setdefault(o.study.queued.urgency, []).append(o)
    rows = []
    for urgency, items in groups.items():
        done = [o for o in items if _reported(o, end_ms) is not None]
        tats = [((o.reported_ms or 0) - o.study.queued.acquired_ms) / 60_000 for o in done]
        within = sum(1 for o in done if _on_time(o))
        waiting = [o for o in items if _reported(o, end_ms) is None]
        overdue = _overdue_waiting(waiting, end_ms)
        rows.append(
            {
                "urgency": urgency,
                "studies": len(items),
                "reported": len(done),
                "within_target_pct": _within_pct(within, len(done), overdue),
                "median_tat_min": None if not tats else round(statistics.median(tats), 1),
                "p90_tat_min": None if not tats else round(_pct(tats, 0.9) or 0, 1),
                "breaches": (len(done) - within) + overdue,
                "waiting_at_end": len(waiting),
            }
        )
    return rows


def summary(outcomes: Mapping[str, Outcome], end_ms: int) -> dict[str, Any]:
    """Network totals: radiographer share of plain X-ray, sourcing volumes, work units, cost."""
    done = [o for o in outcomes.values() if o.reported_ms is not None]
    in_period = [o for o in done if _reported(o, end_ms) is not None]
    xr = [o for o in in_period if o.study.queued.modality in PLAIN_XRAY]
    by_rg = sum(1 for o in xr if o.group == "radiographer")
    sourcing: dict[str, dict[str, float]] = {}
    for o in done:
        row = sourcing.setdefault(o.sourcing or "?", {"studies": 0, "work_units": 0.0, "cost": 0.0})
        row["studies"] += 1
        row["work_units"] += o.study.queued.work_units
        row["cost"] += o.cost
    within = sum(1 for o in in_period if _on_time(o))
    return {
        "studies": len(outcomes),
        "reported": len(in_period),
        "within_target_pct": _within_pct(
            within, len(in_period), _overdue_waiting(outcomes.values(), end_ms)
        ),
        "radiographer_share_xr": round(by_rg / len(xr), 3) if xr else None,
        "sourcing": {
            k: {
                "studies": int(v["studies"]),
                "work_units": round(v["work_units"], 1),
                "cost": round(v["cost"], 2),
            }
            for k, v in sorted(sourcing.items())
        },
        "waiting_at_end": len(outcomes) - len(in_period),
    }


def side_by_side(results: Mapping[str, dict[str, Any]]) -> str:
    """Plain-text tables: per urgency one column block per policy, then network totals."""
    names = list(results)
    head = f"{'urgency':<9}" + "".join(f" | {n:^40}" for n in names)
    sub = f"{'':<9}" + " | within%  median    p90  breach  waiting" * len(names)
    lines = [
        "TAT in minutes from acquisition; breaches include studies still waiting past due;",
        "within% = reported on time / (reported + still waiting past due)",
        head,
        sub,
        "-" * len(sub),
    ]
    for i, urgency in enumerate(r["urgency"] for r in results[names[0]]["urgency"]):
        cells = []
        for n in names:
            r = results[n]["urgency"][i]
            cells.append(
                f" | {_f(r['within_target_pct']):>7} {_f(r['median_tat_min']):>7} "
                f"{_f(r['p90_tat_min']):>7} {r['breaches']:>6} {r['waiting_at_end']:>8}"
            )
        lines.append(f"{urgency:<9}" + "".join(cells))
    lines += ["", f"{'network':<36}" + "".join(f" {n:>18}" for n in names)]
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("reported within target %", lambda s: _f(s["within_target_pct"])),
        ("radiographer share of plain X-ray", lambda s: _f(s["radiographer_share_xr"])),
        ("insourced studies / cost", lambda s: _sourced(s, "insourced")),
        ("outsourced studies / cost", lambda s: _sourced(s, "outsourced")),
        ("waiting at the end", lambda s: str(s["waiting_at_end"])),
    ]
    for label, get in rows:
        lines.append(f"{label:<36}" + "".join(f" {get(results[n]['summary']):>18}" for n in names))
    return "\n".join(lines)


def _sourced(s: dict[str, Any], kind: str) -> str:
    row = s["sourcing"].get(kind, {"studies": 0, "cost": 0.0})
    return f"{row['studies']} / £{row['cost']:,.0f}"


def _f(v: Any) -> str:
    return "-" if v is None else str(v)

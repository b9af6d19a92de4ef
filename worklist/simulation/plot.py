"""A PNG of turnaround distributions per urgency, one curve per policy (matplotlib)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from worklist.policy import URGENCIES
from worklist.simulation.engine import Outcome


def tat_minutes(outcomes: Mapping[str, Outcome], urgency: str, end_ms: int) -> list[float]:
    return sorted(
        (o.reported_ms - o.study.queued.acquired_ms) / 60_000
        for o in outcomes.values()
        if o.study.queued.urgency == urgency
        and o.reported_ms is not None
        and o.reported_ms <= end_ms
    )


def write_png(path: Path, runs: Mapping[str, Mapping[str, Outcome]], end_ms: int) -> None:
    """Empirical CDFs of TAT (log scale) per urgency; needs the ``load`` extra (matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    fig, axes = plt.subplots(1, len(URGENCIES), figsize=(4 * len(URGENCIES), 4), sharey=True)
    for ax, urgency in zip(axes, URGENCIES, strict=True):
        for name, outcomes in runs.items():
            tats = tat_minutes(outcomes, urgency, end_ms)
            if tats:
                ys = [(i + 1) / len(tats) for i in range(len(tats))]
                ax.step([max(t, 0.5) for t in tats], ys, where="post", label=name)
        targets = {
            o.study.queued.due_ms - o.study.queued.acquired_ms
            for runs_ in runs.values()
            for o in runs_.values()
            if o.study.queued.urgency == urgency
        }
        for target in sorted(targets):
            ax.axvline(target / 60_000, color="grey", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{urgency} (dotted: targets)")
        ax.set_xlabel("TAT, minutes (log)")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("share of reported studies")
    labelled: dict[str, Any] = {}
    for ax in axes:  # some urgencies may have no reported studies in a short run
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            labelled.setdefault(label, handle)
    if labelled:
        axes[-1].legend(list(labelled.values()), list(labelled), loc="lower right")
    fig.suptitle("Turnaround by urgency: balancer vs baselines (reported studies, ECDF)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)

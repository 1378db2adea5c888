"""The report of one run or saved model folder, from its metrics-*.json files alone."""
from __future__ import annotations

import json
from pathlib import Path

from . import plots
from .report_pages import Table, fmt, table, write_pages

__all__ = ["write_run_report"]


def write_run_report(run_dir: Path) -> Path:
    """report.md/.html of one run or saved model folder, from its metrics-*.json files."""
    run_dir = Path(run_dir)
    files = sorted(run_dir.glob("metrics-*.json"))
    if not files:
        raise FileNotFoundError(f"{run_dir} has no metrics-*.json: evaluate first (nlptransfer evaluate {run_dir} "
                                f"--data FILE).")
    sections: list[tuple[str, object]] = []
    for f in files:
        m = json.loads(f.read_text())
        name = m.get("split", f.stem.removeprefix("metrics-"))
        keys = [k for k in ("n", "accuracy", "macro_f1", "micro_f1", "weighted_f1", "positive_f1", "pr_auc",
                            "threshold", "ece", "precision", "recall", "f1") if k in m]
        ci = m.get("ci95", {})
        headline = Table([["metric", "value", "95% CI"]] + [[k, fmt(m[k], k), "–".join(fmt(v) for v in ci[k])
                                                          if k in ci else ""] for k in keys])
        items: list = [f"{m.get('model')} / {m.get('strategy')} / {m.get('task')}", headline]
        if "per_class" in m:
            items.append(table([{"class": c, **v} for c, v in m["per_class"].items()],
                                ["class", "precision", "recall", "f1", "support"]))
        if plots.available():
            if "confusion_matrix" in m:
                items.append(plots.confusion(m, name, run_dir / "plots" / f"confusion-{name}.png"))
            if "reliability" in m:
                items.append(plots.reliability_diagram({name: m}, run_dir / "plots" / f"reliability-{name}.png"))
            if "pr_curve" in m:
                items.append(plots.pr_curve(m, name, run_dir / "plots" / f"pr_curve-{name}.png"))
            if m.get("task") == "ner":
                items.append(plots.per_type_f1({name: m}, run_dir / "plots" / f"per_type_f1-{name}.png"))
        sections.append((name, items))
    write_pages(run_dir, f"nlptransfer run report: {run_dir.name}", sections)
    return run_dir / "report.html"

"""Metrics as files: JSON for machines, Markdown for people. Writes are atomic."""
from __future__ import annotations

import json
from pathlib import Path

from ..atomic_files import atomic_write_text

__all__ = ["write_metrics", "metrics_markdown"]


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def metrics_markdown(metrics: dict, title: str) -> str:
    lines = [f"# {title}", "", "| metric | value |", "|---|---:|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in metrics.items() if not isinstance(v, (dict, list))]
    ci = metrics.get("ci95")
    if ci:
        lines += ["", "## 95% bootstrap intervals (test examples resampled)", "", "| metric | low | high |",
                  "|---|---:|---:|"]
        lines += [f"| {k} | {_fmt(lo)} | {_fmt(hi)} |" for k, (lo, hi) in ci.items()]
    per_class = metrics.get("per_class")
    if per_class:
        lines += ["", "## Per class", "", "| label | precision | recall | f1 | support |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {c} | {_fmt(m['precision'])} | {_fmt(m['recall'])} | {_fmt(m['f1'])} | {m['support']} |"
                  for c, m in per_class.items()]
    cm = metrics.get("confusion_matrix")
    if cm:
        lines += ["", "## Confusion matrix (rows: true, columns: predicted)", "",
                  "| | " + " | ".join(cm["labels"]) + " |", "|---|" + "---:|" * len(cm["labels"])]
        lines += [f"| **{label}** | " + " | ".join(str(x) for x in row) + " |"
                  for label, row in zip(cm["labels"], cm["matrix"])]
    return "\n".join(lines) + "\n"


def write_metrics(metrics: dict, folder: str | Path, name: str) -> Path:
    """``folder/metrics-NAME.json`` and ``.md``; returns the JSON path."""
    folder = Path(folder)
    atomic_write_text(folder / f"metrics-{name}.json", json.dumps(metrics, indent=2) + "\n")
    atomic_write_text(folder / f"metrics-{name}.md", metrics_markdown(metrics, f"Metrics: {name}"))
    if (folder / "nlptransfer.json").exists():  # a saved model folder: its card shows the new metrics
        from .model_card import write_model_card

        write_model_card(folder)
    return folder / f"metrics-{name}.json"

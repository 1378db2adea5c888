"""Metrics as files: JSON for machines, Markdown for people. Writes are atomic."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_text", "write_metrics", "metrics_markdown"]


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write via a temporary file and rename, so a crash never leaves a half-written file over a
    good one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    return folder / f"metrics-{name}.json"

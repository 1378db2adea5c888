"""Reports from saved results alone: results.csv/json, report.md and a self-contained
report.html (figures embedded), for a compare folder or a single run folder."""
from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path

from . import plots
from .reports import atomic_write_text
from .summary import load_runs, summarize

__all__ = ["write_compare_outputs", "write_run_report", "build_report"]


def _fmt(v, column: str = "") -> str:
    if v is None:
        return ""
    if column == "fraction":
        return f"{v:g}"
    if isinstance(v, float) and (column.endswith(("_mb", "_per_second")) or abs(v) >= 1000):
        return f"{v:,.0f}"
    if isinstance(v, float) and column.endswith("seconds"):
        return f"{v:.1f}"
    if isinstance(v, int) and column.endswith("params"):
        return f"{v:,d}"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


class Table(list):
    """Rows of cells, the first the header (a type of its own, so a section's list of items is
    never mistaken for one)."""


def _table(rows: list[dict], columns: list[str], headers: dict[str, str] | None = None) -> Table:
    header = [(headers or {}).get(c, c) for c in columns]
    return Table([header] + [[_fmt(r.get(c), c) for c in columns] for r in rows])


def _md(table: list[list[str]]) -> str:
    head, *body = table
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def _html_table(table: list[list[str]]) -> str:
    head, *body = table
    cells = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><tr>{cells}</tr>{rows}</table>"


def _write_docs(out: Path, title: str, sections: list[tuple[str, object]]) -> None:
    """``sections``: (heading, content) where content is text, a table (list of rows) or a PNG path."""
    md, body = [f"# {title}"], [f"<h1>{html.escape(title)}</h1>"]
    for heading, content in sections:
        md.append(f"\n## {heading}\n")
        body.append(f"<h2>{html.escape(heading)}</h2>")
        for item in content if isinstance(content, list) and not isinstance(content, Table) else [content]:
            if isinstance(item, Path):
                md.append(f"![{item.stem}]({item.relative_to(out).as_posix()})\n")
                data = base64.b64encode(item.read_bytes()).decode()
                body.append(f'<img alt="{item.stem}" src="data:image/png;base64,{data}">')
            elif isinstance(item, Table):
                md.append(_md(item) + "\n")
                body.append(_html_table(item))
            else:
                md.append(str(item) + "\n")
                body.append(f"<p>{html.escape(str(item))}</p>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px}"
             "th{background:#f3f3f3}img{max-width:100%;margin:.5em 0;display:block}")
    atomic_write_text(out / "report.md", "\n".join(md) + "\n")
    atomic_write_text(out / "report.html", f"<!doctype html><html><head><meta charset='utf-8'><title>"
                      f"{html.escape(title)}</title><style>{style}</style></head><body>{''.join(body)}</body></html>")


def _best_runs(runs: list[dict], metric: str) -> dict[str, dict]:
    """Per strategy (and classic): the run with the best test score at the largest fraction."""
    top = max(r["fraction"] for r in runs)
    best: dict[str, dict] = {}
    for r in runs:
        name = "classic" if r["strategy"] == "classic" else f"{r['model']} {r['strategy']}"
        if r["fraction"] == top and (name not in best or r["metrics"][metric] > best[name]["metrics"][metric]):
            best[name] = r
    return best


def write_compare_outputs(out: Path) -> dict:
    """results.csv, results.json, plots/ and the report of a compare folder, from its runs."""
    out = Path(out)
    spec = json.loads((out / "compare.json").read_text())
    runs = load_runs(out, spec.get("runs"))
    if not runs:
        raise FileNotFoundError(f"{out} has no finished runs (runs/*/result.json); run nlptransfer compare first.")
    summary = summarize(runs, spec["task"])
    metric = summary["metric"]
    rows = summary["rows"]
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(out / "results.csv", buffer.getvalue())
    expected = len(spec["runs"]) if "runs" in spec else len(runs)
    summary["runs_expected"], summary["runs_finished"] = expected, len(runs)
    atomic_write_text(out / "results.json", json.dumps({"spec": spec, **summary}, indent=1))

    sections: list[tuple[str, object]] = []
    missing = expected - len(runs)
    lead = (f"Task {spec['task']}, primary metric {metric} on {summary['n_test']} test examples; "
            f"{len(runs)} of {expected} runs finished" + (f" ({missing} missing or failed: rerun the same "
                                                         f"command to finish them)." if missing else "."))
    sections.append(("Summary", lead))
    if summary["gains"]:
        sections.append(("Did transfer help?", [
            "Gain = pretrained minus the better of from-scratch and classic at the same train fraction, "
            "mean over seeds; 95% paired bootstrap interval over test examples. helped: the interval is "
            "above 0; negative transfer: below 0; otherwise no clear gain.",
            _table(summary["gains"], ["model", "strategy", "fraction", "reference", "gain", "ci_low", "ci_high",
                                      "seed_std", "verdict"], {"gain": f"{metric} gain"})]))
    if summary["versus_scratch"]:
        sections.append(("What pretraining adds to the same architecture", [
            "Pretrained minus the same model trained from random weights (scratch), same intervals and rule.",
            _table(summary["versus_scratch"], ["model", "strategy", "fraction", "gain", "ci_low", "ci_high",
                                               "seed_std", "verdict"], {"gain": f"{metric} gain"})]))
    sections.append(("Scores and cost (mean over seeds)", _table(summary["groups"], [
        "model", "strategy", "fraction", "n_train", "seeds", "mean", "std", "train_seconds", "peak_rss_mb",
        "trainable_params"], {"mean": f"{metric} mean", "std": "std over seeds"})))
    if len(spec["train_fractions"]) > 1 and summary["data_savings"]:
        sections.append(("How much data transfer saves", [
            "Smallest train fraction at which each pretrained strategy reaches the best reference "
            "(scratch or classic) trained on the largest fraction.",
            _table(summary["data_savings"], ["model", "strategy", "reference", "reference_score", "reference_n_train",
                                             "fraction_needed", "n_train_needed"])]))
    if plots.available():
        sections.append(("Figures", _compare_figures(out, runs, summary, spec["task"])))
    else:
        sections.append(("Figures", "matplotlib is not installed: pip install 'nlptransfer[plots]' and run "
                                    f"nlptransfer report {out}"))
    sections.append(("Every run", _table(rows, [c for c in columns if c not in ("ci95_low", "ci95_high")])))
    _write_docs(out, f"nlptransfer compare: {spec['task']}", sections)
    return summary


def _compare_figures(out: Path, runs: list[dict], summary: dict, task: str) -> list[Path]:
    metric, figures = summary["metric"], []
    figures.append(plots.metric_vs_cost(summary["groups"], metric, out / "plots" / "metric_vs_cost.png"))
    if len({g["fraction"] for g in summary["groups"]}) > 1:
        figures.append(plots.learning_curve(summary["groups"], metric, out / "plots" / "learning_curve.png"))
    best = _best_runs(runs, metric)
    if task == "ner":
        figures.append(plots.per_type_f1({k: r["metrics"] for k, r in best.items()}, out / "plots" / "per_type_f1.png"))
        return figures
    winner_name, winner = max(best.items(), key=lambda kv: kv[1]["metrics"][metric])
    title = f"{winner_name}, seed {winner['seed']} (best {metric})"
    figures.append(plots.confusion(winner["metrics"], title, out / "plots" / "confusion_matrix.png"))
    figures.append(plots.reliability_diagram({k: r["metrics"] for k, r in best.items()},
                                             out / "plots" / "reliability.png"))
    if "pr_curve" in winner["metrics"]:
        figures.append(plots.pr_curve(winner["metrics"], title, out / "plots" / "pr_curve.png"))
    return figures


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
        table = Table([["metric", "value", "95% CI"]] + [[k, _fmt(m[k], k), "–".join(_fmt(v) for v in ci[k])
                                                          if k in ci else ""] for k in keys])
        items: list = [f"{m.get('model')} / {m.get('strategy')} / {m.get('task')}", table]
        if "per_class" in m:
            items.append(_table([{"class": c, **v} for c, v in m["per_class"].items()],
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
    _write_docs(run_dir, f"nlptransfer run report: {run_dir.name}", sections)
    return run_dir / "report.html"


def build_report(path) -> Path:
    """``nlptransfer report``: a compare folder (compare.json) or a run/model folder."""
    path = Path(path)
    if (path / "compare.json").exists():
        write_compare_outputs(path)
        return path / "report.html"
    return write_run_report(path)

"""A compare folder's results.csv/json and report, from its saved runs alone."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..atomic_files import atomic_write_text
from ..evaluation import plots
from ..evaluation.report_pages import table, write_pages
from .summary import load_runs, summarize

__all__ = ["write_compare_outputs"]


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
    sections.append(("Summary", [lead] + _what_the_models_read(runs)))
    if summary["gains"]:
        sections.append(("Did transfer help?", [
            "Gain = pretrained minus the better of from-scratch and classic at the same train fraction, "
            "mean over seeds; 95% paired bootstrap interval over test examples. The interval conditions on "
            "the seeds that were run: it shows how much the sampling of test examples moves the gain, not "
            "how much other seeds would. helped: the interval is above 0; below 0 it is negative transfer "
            "when the reference is the same model trained from scratch, and below the classic baseline when "
            "it is the classic one; otherwise no clear gain.",
            table(summary["gains"], ["model", "strategy", "fraction", "reference", "gain", "ci_low", "ci_high",
                                      "seed_std", "verdict"], {"gain": f"{metric} gain"})]))
    if summary["versus_scratch"]:
        sections.append(("What pretraining adds to the same architecture", [
            "Pretrained minus the same model trained from random weights (scratch), same intervals and rule.",
            table(summary["versus_scratch"], ["model", "strategy", "fraction", "gain", "ci_low", "ci_high",
                                               "seed_std", "verdict"], {"gain": f"{metric} gain"})]))
    if summary["versus_plain"]:
        sections.append(("What each technique adds over plain fine-tuning", [
            "Each strategy minus full fine-tuning of the same model, and each row with a technique (+adapt: "
            "task-adaptive pretraining first; +eda, +mention: augmented training copies) minus the same row "
            "without it; same splits and seeds, same intervals and rule. The cost column below says what each costs.",
            table(summary["versus_plain"], ["model", "strategy", "fraction", "reference", "gain", "ci_low", "ci_high",
                                             "seed_std", "verdict"], {"gain": f"{metric} gain"})]))
    sections.append(("Scores and cost (mean over seeds)", table(summary["groups"], [
        "model", "strategy", "fraction", "n_train", "seeds", "mean", "std", "train_seconds", "peak_rss_mb",
        "trainable_params"], {"mean": f"{metric} mean", "std": "std over seeds"})))
    if len(spec["train_fractions"]) > 1 and summary["data_savings"]:
        sections.append(("How much data transfer saves", [
            "Smallest train fraction at which each pretrained strategy reaches the best reference "
            "(scratch or classic) trained on the largest fraction.",
            table(summary["data_savings"], ["model", "strategy", "reference", "reference_score", "reference_n_train",
                                             "fraction_needed", "n_train_needed"])]))
    if plots.available():
        sections.append(("Figures", _compare_figures(out, runs, summary, spec["task"])))
    else:
        sections.append(("Figures", "matplotlib is not installed: pip install 'nlptransfer[plots]' and run "
                                    f"nlptransfer report {out}"))
    sections.append(("Every run", table(rows, [c for c in columns if c not in ("ci95_low", "ci95_high")])))
    write_pages(out, f"nlptransfer compare: {spec['task']}", sections)
    return summary


def _what_the_models_read(runs: list[dict]) -> list[str]:
    """A transformer reads at most max_length tokens of a text; the classic baseline all of it."""
    neural = [r["metrics"] for r in runs if r["strategy"] != "classic" and "max_length" in r["metrics"]]
    over = [m for m in neural if m.get("texts_over_max_length")]
    if not over:
        return []
    m = max(over, key=lambda m: m["texts_over_max_length"])
    how = {"truncate": "cut to their first", "head_tail": "cut to their start and end,",
           "chunks": "read in overlapping windows of"}[m["long_texts"]]
    return [f"Text length: {m['texts_over_max_length']} of {m['n']} test texts are longer than max_length="
            f"{m['max_length']} tokens and were {how} {m['max_length']} tokens (long_texts={m['long_texts']}); "
            f"the classic baseline reads every word of every text."]


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

"""From finished compare runs to the numbers a user decides on: one row per run, means over
seeds, the transfer gain of each pretrained strategy over the best of scratch and classic with a
paired bootstrap interval, the verdict, each technique's gain over plain fine-tuning, and how much
training data transfer saves."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..evaluation.bootstrap import Scorer, classification_scorer, entity_scorer, paired_gain, resample_counts, verdict
from ..evaluation.harness import predicted_labels
from ..strategies import without_last_technique
from ..task_types import TASK_TYPES

__all__ = ["load_runs", "summarize", "REFERENCE_STRATEGIES"]

REFERENCE_STRATEGIES = ("scratch", "classic")


def load_runs(out: Path, wanted: dict[str, str] | None = None) -> list[dict]:
    """Finished runs (result.json present) with their predictions; only those of ``wanted``
    (run name -> fingerprint) when given."""
    runs = []
    for result in sorted((out / "runs").glob("*/result.json")):
        run = json.loads(result.read_text())
        if wanted is not None and wanted.get(result.parent.name) != run.get("fingerprint"):
            continue
        run["dir"] = str(result.parent)
        predictions = result.parent / "predictions.json"
        run["predictions"] = json.loads(predictions.read_text()) if predictions.exists() else None
        runs.append(run)
    return runs


def _scorer(task: str, predictions: dict) -> Scorer:
    if task == "ner":
        return entity_scorer(predictions["true"], predictions["predicted"])
    classes, positive = predictions["classes"], predictions["positive_label"]
    proba = np.asarray(predictions["proba"])
    predicted = predicted_labels(proba, classes, positive, predictions["threshold"])
    index = {c: i for i, c in enumerate(classes)}
    return classification_scorer([index[y] for y in predictions["true"]], [index[y] for y in predicted],
                                 len(classes), TASK_TYPES[task].primary_metric,
                                 index.get(positive) if positive else None)


def _row(run: dict, metric: str) -> dict:
    m = run["metrics"]
    row = {"model": run["model"], "strategy": run["strategy"], "fraction": run["fraction"], "seed": run["seed"],
           "n_train": run["n_train"], metric: m[metric], "ci95_low": m["ci95"][metric][0],
           "ci95_high": m["ci95"][metric][1]}
    for extra in ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "pr_auc", "ece", "threshold", "precision",
                  "recall"):
        if extra in m and extra != metric:
            row[extra] = m[extra]
    if run.get("kept"):  # an auto row: which candidate it kept
        row["kept"] = run["kept"]
    row.update({k: run.get(k) for k in ("train_seconds", "samples_per_second", "peak_rss_mb", "peak_gpu_mb",
                                        "trainable_params")})
    return row


def _group(rows: list[dict], metric: str) -> list[dict]:
    """Mean and spread over seeds per (model, strategy, fraction)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["strategy"], r["fraction"]), []).append(r)
    out = []
    for (model, strategy, fraction), members in sorted(groups.items()):
        values = [m[metric] for m in members]
        out.append({"model": model, "strategy": strategy, "fraction": fraction, "n_train": members[0]["n_train"],
                    "seeds": len(members), "mean": float(np.mean(values)),
                    "std": float(np.std(values, ddof=1)) if len(values) > 1 else None,  # one seed: no spread
                    "train_seconds": float(np.mean([m["train_seconds"] for m in members])),
                    "peak_rss_mb": float(np.max([m["peak_rss_mb"] or 0 for m in members])),
                    "trainable_params": members[0]["trainable_params"]})
    return out


def summarize(runs: list[dict], task: str) -> dict:
    metric = TASK_TYPES[task].primary_metric
    rows = [_row(r, metric) for r in runs]
    groups = _group(rows, metric)
    by_key = {(g["model"], g["strategy"], g["fraction"]): g for g in groups}
    runs_by = {}
    for r in runs:
        if r["predictions"] is not None:
            runs_by.setdefault((r["model"], r["strategy"], r["fraction"]), []).append(r)
    n_test = len(runs[0]["predictions"]["true"]) if runs and runs[0]["predictions"] else 0
    counts = resample_counts(n_test) if n_test else None

    def scorers(key):
        return [_scorer(task, r["predictions"]) for r in sorted(runs_by[key], key=lambda r: r["seed"])]

    gains, versus_scratch, versus_plain = [], [], []
    for (model, strategy, fraction) in sorted(runs_by):
        if strategy in REFERENCE_STRATEGIES or model == "classic":
            continue
        mine = scorers((model, strategy, fraction))
        scratch, classic = (model, "scratch", fraction), ("classic", "classic", fraction)
        candidates = [k for k in (scratch, classic) if k in runs_by]
        if candidates:  # the question: better than the best thing one could do without transfer?
            ref = max(candidates, key=lambda k: by_key[k]["mean"])
            gain = paired_gain(mine, scorers(ref), counts)
            gains.append({"model": model, "strategy": strategy, "fraction": fraction, "reference": ref[1],
                          "metric": metric, **gain, "verdict": verdict(gain, ref[1])})
        if scratch in runs_by:  # what pretraining itself adds to the same architecture
            gain = paired_gain(mine, scorers(scratch), counts)
            versus_scratch.append({"model": model, "strategy": strategy, "fraction": fraction, "reference": "scratch",
                                   "metric": metric, **gain, "verdict": verdict(gain, "scratch")})
        # A technique against plain fine-tuning: a row with +adapt or +eda against the same row
        # without it, any other strategy against full. Same splits and seeds: a paired comparison.
        plain = without_last_technique(strategy) if "+" in strategy else "full"
        if plain != strategy and (model, plain, fraction) in runs_by:
            gain = paired_gain(mine, scorers((model, plain, fraction)), counts)
            versus_plain.append({"model": model, "strategy": strategy, "fraction": fraction, "reference": plain,
                                 "metric": metric, **gain, "verdict": verdict(gain, plain)})

    return {"task": task, "metric": metric, "rows": rows, "groups": groups, "gains": gains,
            "versus_scratch": versus_scratch, "versus_plain": versus_plain, "data_savings": _data_savings(groups),
            "n_test": n_test}


def _data_savings(groups: list[dict]) -> list[dict]:
    """For each pretrained (model, strategy): the smallest train fraction whose mean score reaches
    the best reference (scratch or classic) trained on the largest fraction."""
    if not groups:
        return []
    top = max(g["fraction"] for g in groups)
    refs = [g for g in groups if g["strategy"] in REFERENCE_STRATEGIES and g["fraction"] == top]
    if not refs:
        return []
    best = max(refs, key=lambda g: g["mean"])
    out = []
    for key in sorted({(g["model"], g["strategy"]) for g in groups if g["strategy"] not in REFERENCE_STRATEGIES}):
        curve = sorted((g for g in groups if (g["model"], g["strategy"]) == key), key=lambda g: g["fraction"])
        reached = next((g for g in curve if g["mean"] >= best["mean"]), None)
        out.append({"model": key[0], "strategy": key[1], "reference": f"{best['model']}/{best['strategy']}",
                    "reference_score": best["mean"], "reference_n_train": best["n_train"],
                    "fraction_needed": reached["fraction"] if reached else "not reached",
                    "n_train_needed": reached["n_train"] if reached else "not reached"})
    return out

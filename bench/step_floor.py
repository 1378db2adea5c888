"""Why does ``full`` fail on tiny training sets? Its defaults against variants of its training
options on the same splits, paired.

    python bench/step_floor.py --dataset conll --size 50 --seeds 3 \
        --variant no_stop:early_stopping_patience=none --variant e60_no_stop:epochs=60,early_stopping_patience=none
    python bench/step_floor.py --dataset rt --size 50 --seeds 3 --variant eda:augment=eda   # rows full+eda

Found on CoNLL with 50 sentences (entity F1 0.05 before 2026-12-03; BENCHMARKS.md "Tiny training
sets"): the epochs cap then was 20 (80 steps at batch 16), and early stopping ended the run at
epoch 5, while the model passed from random tags to all-`O` and its validation F1 dipped to 0.
One ``nlptransfer.compare`` per variant on identical splits (the augmentation benchmark's:
stratified train sample per seed, validation 300 examples with seed 0, test complete),
minilm-l6 ``full``; each variant's rows are
named ``full+NAME`` so the summary pairs them with the defaults over test examples (95% bootstrap).
``--before DIR`` (a compare folder of the same dataset, size and seeds run at an earlier commit,
e.g. the defaults folder of an earlier run of this script) makes those runs the reference ``full``
and this commit's defaults the row ``full+now``: the change of defaults, paired.
Writes bench/results/step-floor-<date>.json and prints a table.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import harness
from augmentation import DATASETS, splits


def _best_epoch(run_dir: str) -> int | None:
    """The kept epoch: the first with the best validation score in the run's history.json (the
    classic baseline has none)."""
    path = Path(run_dir) / "run" / "history.json"
    history = json.loads(path.read_text()) if path.exists() else []
    scored = [row for row in history if "validation_score" in row]
    return max(scored, key=lambda row: row["validation_score"])["epoch"] if scored else None


def _value(text: str):
    """A --variant value: none, a number, or a word (augment=eda)."""
    if text == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=tuple(DATASETS), default="conll")
    ap.add_argument("--size", type=int, default=50)
    ap.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                    help="training options against the defaults; 'none' for None")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--before", help="compare folder of the defaults at an earlier commit (same splits)")
    ap.add_argument("--out", default="/tmp/step-floor")
    args = ap.parse_args()

    from nlptransfer import TrainConfig, compare
    from nlptransfer.comparison.summary import load_runs, summarize

    task = DATASETS[args.dataset][0]
    out = Path(args.out) / args.dataset
    out.mkdir(parents=True, exist_ok=True)
    train, validation, test, n_train = splits(args.dataset, out)
    started = time.perf_counter()
    runs = []
    variants = [("default", {})]
    for text in args.variant:
        name, _, pairs = text.partition(":")
        variants.append((name, {k: _value(v) for k, v in (pair.split("=") for pair in pairs.split(","))}))
    if args.before:
        before = [r for r in load_runs(Path(args.before)) if r["strategy"] == "full"]
        runs += [r for r in before if abs(r["fraction"] - args.size / n_train) < 1e-9 and r["seed"] < args.seeds]
    for name, options in variants:
        folder = out / name
        training = {k: v for k, v in options.items() if k != "augment"}  # compare sets augment per row
        compare(task, train, validation, test, models=["minilm-l6"], strategies=["full"], seeds=args.seeds,
                train_fractions=[args.size / n_train], output_dir=str(folder),
                augment=(options.get("augment", "none"),), training=TrainConfig(progress=False, **training))
        for run in load_runs(folder):
            if run["strategy"] == "full" and (training or args.before):  # augment names its own rows
                run["strategy"] = f"full+{name if training else 'now'}"
            if run["strategy"] != "classic" or not options:  # the classic baseline once
                runs.append(run)
    summary = summarize(runs, task)
    rows = [{"dataset": args.dataset, "kind": "gain", **g} for g in summary["versus_plain"]] + \
           [{"dataset": args.dataset, "kind": "group", **g} for g in summary["groups"]] + \
           [{"dataset": args.dataset, "kind": "run", "strategy": r["strategy"], "seed": r["seed"],
             "fraction": r["fraction"], "model": r["model"], "score": r["metrics"][summary["metric"]],
             "epochs": r["epochs"], "best_epoch": _best_epoch(r["dir"]), "train_seconds": r.get("train_seconds")}
            for r in runs]
    path = Path(__file__).parent / "results" / f"step-floor-{time.strftime('%Y-%m-%d')}.json"
    subsets = json.loads(path.read_text()).get("subsets", {}) if path.exists() else {}  # other runs' settings
    for row in rows:  # `full` is the earlier commit's defaults with --before, this commit's without
        row["reference"] = args.before or "defaults"
    report = harness.save_results("step-floor", rows, ("dataset", "reference", "kind", "model", "strategy", "fraction",
                                                       "seed"))
    subsets[report["command"]] = {
        "command": report["command"], "settings": f"train {args.size} of {n_train}; validation 300 (seed 0); test "
        f"complete; {args.seeds} seeds; {round(time.perf_counter() - started)} s"}
    report.update(subsets=subsets)
    path.write_text(json.dumps(report, indent=1) + "\n")
    harness.print_gains(summary, "gain over the defaults")


if __name__ == "__main__":
    main()

"""Does training tasks together help? Multi-task against each task alone, same splits, same seeds.

    python bench/multi_task.py --pair sst2+sms --size 300 --seeds 3
    python bench/multi_task.py --pair conll+sst2 --size 300 --seeds 3

For each seed: one ``MultiTaskModel`` on both tasks (full, minilm-l6, temperature sampling T=2,
default training options: epochs chosen from the data, early stopping on the mean validation
score), and each task alone (``TextClassifier`` / ``EntityTagger``, the same options). Each
task's test score (SST-2 accuracy, spam F1, CoNLL strict entity F1), and the multi-task gain over
the task alone, mean over seeds, with a 95% bootstrap interval over test examples paired on the
same resamples.

CPU subsets, said in the results: ``--size`` training examples per task (sentences for CoNLL),
sampled per seed; validation 200 per task (seed 0); test: SST-2 validation split complete (872;
its test labels are hidden), SMS test complete (821), CoNLL test 1,000 sentences (seed 0).
Writes bench/results/multi_task-<date>.json and prints a table.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import harness
import numpy as np
import pandas as pd

DATA = harness.SHARED
TASKS = {"sst2": ("sentiment", "sst2", "accuracy"), "sms": ("spam", "sms_spam", "positive_f1"),
         "conll": ("ner", "conll2003", "f1")}


def _sample_text(folder: str, split: str, n: int | None, seed: int, out: Path) -> Path:
    frame = pd.read_csv(DATA / folder / f"{split}.csv")
    if n is not None and n < len(frame):
        frame = frame.sample(n=n, random_state=seed)
    path = out / f"{folder}-{split}-{n}-{seed}.csv"
    frame.to_csv(path, index=False)
    return path


def _sample_conll(split: str, n: int | None, seed: int, out: Path) -> Path:
    from nlptransfer.data.tagged_table import read_tagged_table

    table = read_tagged_table(DATA / "conll2003" / f"{split}.txt", name=split)
    keep = range(len(table.words)) if n is None or n >= len(table.words) else \
        sorted(np.random.default_rng(seed).choice(len(table.words), n, replace=False).tolist())
    path = out / f"conll-{split}-{n}-{seed}.jsonl"
    path.write_text("".join(json.dumps({"tokens": table.words[i], "tags": table.tags[i]}) + "\n" for i in keep))
    return path


def _splits(name: str, size: int, seed: int, out: Path) -> tuple[Path, Path, Path]:
    """(train, validation, test) of one task for one seed."""
    if name == "conll":
        return _sample_conll("train", size, seed, out), _sample_conll("validation", 200, 0, out), \
            _sample_conll("test", 1000, 0, out)
    folder = TASKS[name][1]
    test_split = "validation" if name == "sst2" else "test"
    validation = _sample_text(folder, "train" if name == "sst2" else "validation", 200, 10_000, out)
    train = _sample_text(folder, "train", size, seed, out)
    if name == "sst2":  # SST-2's validation split is the test here: validation comes from train, kept apart
        frame = pd.read_csv(train)
        taken = set(pd.read_csv(validation)["text"])
        frame[~frame["text"].isin(taken)].to_csv(train, index=False)
    return train, validation, _sample_text(folder, test_split, None, 0, out)


def _scorer(name: str, estimator, test: Path):
    """The task's test metric as a bootstrap ``Scorer`` over its test examples, and its value."""
    from nlptransfer.evaluation.bootstrap import classification_scorer, entity_scorer

    table = estimator.read(test, "test")
    if name == "conll":
        scorer = entity_scorer(table.tags, estimator.predict_tags(table.words))
    else:
        classes = list(estimator.classes_)
        predicted = [classes.index(y) for y in estimator.predict(table.texts)]
        positive = classes.index(estimator.positive_label_) if estimator.positive_label_ else None
        scorer = classification_scorer([classes.index(y) for y in table.labels], predicted, len(classes),
                                       TASKS[name][2], positive)
    return scorer, scorer.score()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pair", default="sst2+sms", choices=("sst2+sms", "conll+sst2", "conll+sms"))
    ap.add_argument("--size", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default="/tmp/multi_task_bench")
    ap.add_argument("--multi-only", action="store_true",
                    help="train and score the multi-task model only, printing its scores (no results file): a "
                         "quick look at a change to multi-task training against single-task scores measured before")
    args = ap.parse_args()

    from nlptransfer import EntityTagger, MultiTaskModel, TextClassifier, TrainConfig

    names = args.pair.split("+")
    out = Path(args.out) / args.pair
    out.mkdir(parents=True, exist_ok=True)
    scorers = {(n, side): [] for n in names for side in ("multi", "alone")}
    rows, started = [], time.perf_counter()
    for seed in range(args.seeds):
        splits = {n: _splits(n, args.size, seed, out) for n in names}
        training = TrainConfig(progress=False, seed=seed)
        clock = time.perf_counter()
        multi = MultiTaskModel("minilm-l6", "full", {n: (TASKS[n][0], *splits[n][:2]) for n in names},
                               training=training, output_dir=str(out / f"multi-{seed}")).fit()
        multi_s = time.perf_counter() - clock
        def measure(n: str, side: str, estimator, seconds: float, history: list) -> None:
            """Score ``estimator`` on task ``n``'s test split; keep its scorer and its row."""
            scorer, value = _scorer(n, estimator, splits[n][2])
            scorers[(n, side)].append(scorer)
            rows.append({"pair": args.pair, "task": n, "side": side, "seed": seed, "metric": TASKS[n][2],
                         "score": value, "train_s": seconds, "epochs": len(history)})
            print(rows[-1], flush=True)

        for n in names:
            measure(n, "multi", multi.estimator(n), multi_s, multi.history_)
            if args.multi_only:
                continue
            cls = EntityTagger if n == "conll" else TextClassifier
            kwargs = {} if n == "conll" else {"task": TASKS[n][0]}
            clock = time.perf_counter()
            alone = cls("minilm-l6", strategy="full", training=training, output_dir=str(out / f"{n}-{seed}"),
                        **kwargs).fit(*splits[n][:2])
            measure(n, "alone", alone, time.perf_counter() - clock, alone.history_)
        if args.multi_only:
            continue
        _report(args, names, rows, scorers, started)  # after every seed: a cut-off run keeps what it measured


def _report(args, names: list[str], rows: list[dict], scorers: dict, started: float) -> None:
    """Gains over the seeds done so far, merged into bench/results/multi_task-DATE.json, and a table."""
    from nlptransfer.evaluation.bootstrap import paired_gain, resample_counts

    seeds = len(scorers[(names[0], "multi")])
    gains = []
    for n in names:
        counts = resample_counts(len(scorers[(n, "multi")][0].stats))
        gain = paired_gain(scorers[(n, "multi")], scorers[(n, "alone")], counts)
        gains.append({"pair": args.pair, "task": n, "side": "gain", "metric": TASKS[n][2], **gain,
                      "multi_mean": float(np.mean([r["score"] for r in rows if r["task"] == n and r["side"] == "multi"])),
                      "alone_mean": float(np.mean([r["score"] for r in rows if r["task"] == n and r["side"] == "alone"]))})
    path = Path(__file__).parent / "results" / f"multi_task-{time.strftime('%Y-%m-%d')}.json"
    subsets = json.loads(path.read_text()).get("subsets", {}) if path.exists() else {}  # the other pairs' runs
    report = harness.save_results("multi_task", rows + gains, ("pair", "task", "side", "seed"))
    report["subsets"] = subsets
    report["subsets"][args.pair] = (f"train {args.size} per task (per seed); validation 200 per task; test SST-2 "
                                    f"validation 872, SMS test 821, CoNLL test 1,000 sentences; {seeds} of {args.seeds} "
                                    f"seeds done; {round(time.perf_counter() - started)} s; "
                                    f"command: python {' '.join(sys.argv)}")
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\n{'task':8} {'metric':12} {'multi':>16} {'alone':>16} {'gain [95% CI]':>28}")
    for g in gains:
        multi = [r["score"] for r in rows if r["task"] == g["task"] and r["side"] == "multi"]
        alone = [r["score"] for r in rows if r["task"] == g["task"] and r["side"] == "alone"]
        print(f"{g['task']:8} {g['metric']:12} {np.mean(multi):.4f} ± {np.std(multi, ddof=1) if len(multi) > 1 else 0:.4f} "
              f"{np.mean(alone):.4f} ± {np.std(alone, ddof=1) if len(alone) > 1 else 0:.4f} "
              f"{g['gain']:+.4f} [{g['ci_low']:+.4f}, {g['ci_high']:+.4f}]")


if __name__ == "__main__":
    main()

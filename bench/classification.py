"""Benchmark: nlptransfer vs plain transformers.Trainer on SMS Spam / SST-2, per strategy.

    python bench/classification.py --dataset sms_spam --train-size 2000 --strategies full,frozen,lora
    python bench/classification.py --dataset sst2 --train-size 4000 --epochs 3

Every configuration runs in its own subprocess, so peak memory (max RSS) is that run's alone.
Same checkpoint and hyperparameters on both sides (lr, batch size, epochs, warmup, weight decay,
max length, seed). Writes bench/results/<dataset>-<date>.json and prints a Markdown table.
Data is read from ../shared/data at run time; the model is the offline alias minilm-l6.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
LR = {"full": 5e-5, "lora": 5e-4, "frozen": 1e-2}
PRIMARY = {"sms_spam": "positive_f1", "sst2": "accuracy"}


def load_splits(dataset: str, train_size: int | None, seed: int):
    import pandas as pd

    folder = SHARED / dataset
    train = pd.read_csv(folder / "train.csv")
    if train_size and train_size < len(train):
        train = train.sample(train_size, random_state=seed)
    validation = pd.read_csv(folder / "validation.csv")
    test = pd.read_csv(folder / "test.csv") if (folder / "test.csv").exists() and dataset != "sst2" else None
    # SST-2's test split is unlabelled: GLUE dev is the reported split, so validation doubles as test
    return train, validation, test if test is not None else validation


def run_ours(args, strategy):
    from nlptransfer import TextClassifier, TrainConfig

    train, validation, test = load_splits(args.dataset, args.train_size, args.seed)
    task = "spam" if args.dataset == "sms_spam" else "sentiment"
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=LR[strategy], max_length=args.max_length,
                      early_stopping_patience=None, progress=False, seed=args.seed)
    clf = TextClassifier("minilm-l6", task, strategy, training=cfg, output_dir=tempfile.mkdtemp())
    clf.fit(train, validation)
    train_s = clf.train_seconds_  # training plus per-epoch validation; loading and tokenising excluded
    metrics = clf.evaluate(test)
    row = {"metric": metrics[PRIMARY[args.dataset]], "train_s": train_s, "trainable": clf.parameters_.trainable,
           "accuracy": metrics["accuracy"]}
    if strategy == "frozen":  # the reference point of the frozen target: one plain forward pass over train
        started = time.perf_counter()
        clf.predict_proba(train["text"].tolist())
        row["one_forward_pass_s"] = time.perf_counter() - started
        row["feature_extraction_s"] = clf.feature_seconds_  # train + validation features, computed once
    return row


def run_trainer(args, strategy):
    import numpy as np
    import torch
    from datasets import Dataset
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments)

    from nlptransfer.checkpoints import resolve

    train, validation, test = load_splits(args.dataset, args.train_size, args.seed)
    classes = sorted(train["label"].unique())
    path = resolve("minilm-l6")
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(classes))
    if strategy == "frozen":
        model.base_model.requires_grad_(False)
    elif strategy == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        model = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16, lora_dropout=0.1,
                                                 target_modules=["query", "value"]))

    def encode(frame):
        ds = Dataset.from_dict({"text": frame["text"].tolist(), "label": [classes.index(y) for y in frame["label"]]})
        return ds.map(lambda b: tok(b["text"], truncation=True, max_length=args.max_length), batched=True,
                      remove_columns=["text"])

    train_ds, val_ds, test_ds = encode(train), encode(validation), encode(test)
    steps = -(-len(train_ds) // args.batch_size) * args.epochs
    targs = TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=args.batch_size,
                              per_device_eval_batch_size=64, learning_rate=LR[strategy], num_train_epochs=args.epochs,
                              weight_decay=0.01, warmup_steps=int(0.1 * steps), lr_scheduler_type="linear",
                              max_grad_norm=1.0, eval_strategy="epoch",  # per-epoch validation, as ours save_strategy="no", report_to=[],
                              logging_strategy="no", seed=args.seed, disable_tqdm=True, use_cpu=not torch.cuda.is_available())
    trainer = Trainer(model=model, args=targs, train_dataset=train_ds, eval_dataset=val_ds,
                      data_collator=DataCollatorWithPadding(tok))
    started = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - started
    pred = trainer.predict(test_ds).predictions.argmax(-1)
    truth = np.asarray(test_ds["label"])
    from sklearn.metrics import accuracy_score, f1_score

    pos = classes.index("spam") if "spam" in classes else None
    metric = f1_score(truth, pred, pos_label=pos, average="binary") if pos is not None else accuracy_score(truth, pred)
    return {"metric": float(metric), "train_s": train_s, "accuracy": float(accuracy_score(truth, pred)),
            "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad)}


def one(args):
    """Child process: run one configuration, print its JSON row."""
    runner = run_ours if args.one_side == "nlptransfer" else run_trainer
    row = runner(args, args.one_strategy)
    n = (args.train_size or 0) * args.epochs
    row.update(side=args.one_side, strategy=args.one_strategy, samples_per_s=n / row["train_s"] if n else None,
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print("RESULT " + json.dumps(row), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=sorted(PRIMARY), default="sms_spam")
    ap.add_argument("--train-size", type=int, default=2000)
    ap.add_argument("--strategies", default="full,frozen,lora")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--one-side", help=argparse.SUPPRESS)
    ap.add_argument("--one-strategy", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one_side:
        return one(args)
    if not (SHARED / args.dataset).exists():
        raise SystemExit(f"{SHARED / args.dataset} not found: this benchmark reads ../shared/data.")
    rows = []
    for strategy in args.strategies.split(","):
        for side in ("nlptransfer", "trainer"):
            cmd = [sys.executable, __file__, *sys.argv[1:], "--one-side", side, "--one-strategy", strategy]
            out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
            lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
            if not lines:
                raise SystemExit(f"{side}/{strategy} failed:\n{out.stderr[-3000:]}")
            rows.append(json.loads(lines[-1][7:]))
            print(rows[-1], flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    report = {"date": time.strftime("%Y-%m-%d"), "commit": commit, "command": "python " + " ".join(sys.argv),
              "machine": f"{os.cpu_count()} CPU cores, no GPU", "args": vars(args), "rows": rows}
    out = Path(__file__).parent / "results" / f"{args.dataset}-{report['date']}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))


def markdown(report) -> str:
    metric = PRIMARY[report["args"]["dataset"]]
    lines = [f"| strategy | side | {metric} | train s | samples/s | peak RSS MB | trainable | metric Δ vs Trainer | speed ratio |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    by = {(r["strategy"], r["side"]): r for r in report["rows"]}
    for (strategy, side), r in by.items():
        ref = by.get((strategy, "trainer"))
        delta = f"{100 * (r['metric'] - ref['metric']):+.2f} pts" if ref and side != "trainer" else ""
        ratio = f"{ref['train_s'] / r['train_s']:.2f}x" if ref and side != "trainer" else ""
        lines.append(f"| {strategy} | {side} | {r['metric']:.4f} | {r['train_s']:.1f} | {r['samples_per_s'] or 0:.1f} | "
                     f"{r['peak_rss_mb']:.0f} | {r['trainable']:,} | {delta} | {ratio} |")
        if "one_forward_pass_s" in r:
            lines.append(f"| frozen: fit time / one forward pass over train | | | | | | | | "
                         f"{r['train_s'] / r['one_forward_pass_s']:.2f}x |")
            lines.append(f"| frozen: feature extraction (train+validation) / one forward pass over train | | | | | | | | "
                         f"{r['feature_extraction_s'] / r['one_forward_pass_s']:.2f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

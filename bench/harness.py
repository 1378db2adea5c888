"""Driver shared by the benchmark scripts: each (side, strategy) runs in its own subprocess so
peak memory (max RSS) is that run's alone; rows are collected into bench/results/NAME-DATE.json
and a Markdown table that puts each nlptransfer row beside the reference's as ratios."""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
LR = {"full": 5e-5, "lora": 5e-4, "frozen": 1e-2}  # the same on both sides


def run_child(command: list, what: str) -> dict:
    """Run one configuration in its own process (its own peak memory and imports) and return the
    row it prints as its last ``RESULT {json}`` line."""
    out = subprocess.run([str(c) for c in command], capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    found = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if not found:
        raise SystemExit(f"{what} failed:\n{out.stderr[-3000:]}")
    return json.loads(found[-1][7:])


def git_commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          cwd=Path(__file__).parent).stdout.strip()


def save_results(name: str, rows: list[dict], key: tuple[str, ...]) -> dict:
    """Merge ``rows`` into bench/results/NAME-DATE.json: each row is stamped with the commit it ran
    at, and replaces an earlier row of the same ``key`` (so a rerun of some variants keeps the
    others). Returns the report written."""
    commit = git_commit()
    for row in rows:
        row["commit"] = commit
    report = {"date": time.strftime("%Y-%m-%d"), "commit": commit, "command": "python " + " ".join(sys.argv),
              "machine": f"{os.cpu_count()} CPU cores, no GPU"}
    path = Path(__file__).parent / "results" / f"{name}-{report['date']}.json"
    previous = json.loads(path.read_text())["rows"] if path.exists() else []
    ident = lambda r: json.dumps([r.get(k) for k in key])  # noqa: E731  (values may be lists)
    done = {ident(r) for r in rows}
    report["rows"] = [r for r in previous if ident(r) not in done] + rows
    path.write_text(json.dumps(report, indent=1) + "\n")
    return report


def variants_main(doc: str, script: str, variants: list[str], seeds: str, run_one, name: str) -> list[dict] | None:
    """The command line of a variants x seeds script: ``--variants``, ``--seeds``; each run in its
    own process (``--one variant:seed`` calls ``run_one``); returns every row of the results file,
    or None in a child."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default=",".join(variants))
    ap.add_argument("--seeds", default=seeds)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        variant, seed = args.one.split(":")
        print("RESULT " + json.dumps(run_one(variant, int(seed))), flush=True)
        return None
    rows = []
    for variant in args.variants.split(","):
        for seed in map(int, args.seeds.split(",")):
            rows.append(run_child([sys.executable, script, "--one", f"{variant}:{seed}"], f"{variant}/{seed}"))
            print(rows[-1], flush=True)
    return save_results(name, rows, ("variant", "seed"))["rows"]


def patch_head_init() -> None:
    """Initialise the task head as Hugging Face task heads do (normal(0, 0.02), zero bias), by
    patching TaskModel in this process only: a variant that leaves the library unchanged."""
    import torch

    from nlptransfer.models import task_model

    original = task_model.TaskModel.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        torch.nn.init.normal_(self.classifier_head.weight, std=0.02)
        torch.nn.init.zeros_(self.classifier_head.bias)

    task_model.TaskModel.__init__ = init


def patch_mega_batch(batches: int) -> None:
    """Length groups drawn among ``batches`` batches' texts instead of transformers' default (up
    to 50), by patching the library's batching in this process only."""
    import functools

    from nlptransfer.data import batching

    batching.get_length_grouped_indices = functools.partial(batching.get_length_grouped_indices,
                                                            mega_batch_mult=batches)


def patch_pooler() -> None:
    """The sentence vector of AutoModelForSequenceClassification for BERT-family checkpoints: [CLS]
    through the checkpoint's pretrained pooler (dense + tanh), trained with the rest, by patching the
    library in this process only (it loads BERT without the pooler and pools the mean itself)."""
    import dataclasses

    from nlptransfer.models import architectures, task_model

    architectures.ARCHITECTURES["bert"] = dataclasses.replace(architectures.ARCHITECTURES["bert"], load_kwargs={})

    def features(self, input_ids, attention_mask):
        return self.backbone(input_ids=input_ids, attention_mask=attention_mask).pooler_output

    original = task_model.apply_strategy

    def apply_strategy(net, plan, arch, model_type, config):
        original(net, plan, arch, model_type, config)
        if plan.name == "full":
            net.backbone.pooler.requires_grad_(True)

    task_model.TaskModel.features = features
    task_model.apply_strategy = apply_strategy


def parser(doc: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-size", type=int, default=2000, help="sampled training examples (0: all)")
    ap.add_argument("--strategies", default="full,frozen,lora")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--one-side", help=argparse.SUPPRESS)
    ap.add_argument("--one-strategy", help=argparse.SUPPRESS)
    return ap


def main(args, runners: dict, name: str, metric: str, n_train) -> None:
    """``runners``: side -> function(args, strategy) -> row dict with metric and train_s."""
    if args.one_side:  # child: one configuration
        row = runners[args.one_side](args, args.one_strategy)
        n = n_train(args) * args.epochs
        row.update(side=args.one_side, strategy=args.one_strategy, samples_per_s=n / row["train_s"],
                   peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print("RESULT " + json.dumps(row), flush=True)
        return
    rows = []
    for strategy in args.strategies.split(","):
        for side in runners:
            cmd = [sys.executable, sys.argv[0], *sys.argv[1:], "--one-side", side, "--one-strategy", strategy]
            out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
            lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
            if not lines:
                raise SystemExit(f"{side}/{strategy} failed:\n{out.stderr[-3000:]}")
            rows.append(json.loads(lines[-1][7:]))
            print(rows[-1], flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    report = {"date": time.strftime("%Y-%m-%d"), "commit": commit, "command": "python " + " ".join(sys.argv),
              "machine": f"{os.cpu_count()} CPU cores, no GPU", "metric": metric,
              "args": {k: v for k, v in vars(args).items() if not k.startswith("one_")}, "rows": rows}
    suffix = "" if args.seed == 42 else f"-seed{args.seed}"  # extra seeds never overwrite the default run
    out = Path(__file__).parent / "results" / f"{name}-{report['date']}{suffix}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))


def markdown(report) -> str:
    metric = report["metric"]
    lines = [f"| strategy | side | {metric} | train s | samples/s | peak RSS MB | trainable | {metric} vs reference | "
             f"speed vs reference |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    by = {(r["strategy"], r["side"]): r for r in report["rows"]}
    for (strategy, side), r in by.items():
        ref = by.get((strategy, "trainer"))
        delta = f"{100 * (r['metric'] - ref['metric']):+.2f} pts" if ref and side != "trainer" else ""
        ratio = f"{ref['train_s'] / r['train_s']:.2f}x" if ref and side != "trainer" else ""
        lines.append(f"| {strategy} | {side} | {r['metric']:.4f} | {r['train_s']:.1f} | {r['samples_per_s']:.1f} | "
                     f"{r['peak_rss_mb']:.0f} | {r['trainable']:,} | {delta} | {ratio} |")
    for r in report["rows"]:
        if "one_forward_pass_s" in r:
            lines.append(f"\nfrozen ({r['side']}): fit {r['train_s']:.1f} s = {r['train_s'] / r['one_forward_pass_s']:.2f}x "
                         f"one forward pass over train ({r['one_forward_pass_s']:.1f} s); of it, feature extraction "
                         f"over train + validation {r['feature_extraction_s']:.1f} s.")
    return "\n".join(lines)


def trainer_arguments(args, strategy: str, n_train: int):
    """The reference's TrainingArguments: the same hyperparameters nlptransfer gets."""
    import tempfile

    import torch
    from transformers import TrainingArguments

    steps = -(-n_train // args.batch_size) * args.epochs
    return TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=args.batch_size,
                             per_device_eval_batch_size=64, learning_rate=LR[strategy], num_train_epochs=args.epochs,
                             weight_decay=0.01, warmup_steps=int(0.1 * steps), lr_scheduler_type="linear",
                             max_grad_norm=1.0, eval_strategy="epoch",  # per-epoch validation, as ours
                             save_strategy="no", report_to=[], logging_strategy="no", seed=args.seed,
                             disable_tqdm=True, use_cpu=not torch.cuda.is_available())


def print_gains(summary: dict, gain_title: str) -> None:
    """A compare summary's groups, one line each, with the paired gain over its plain row."""
    print(f"\n{'row':14} {'n':>5} {summary['metric']:>18} {gain_title:>28} {'train s':>8}")
    for g in summary["groups"]:
        gain = next((x for x in summary["versus_plain"] if (x["strategy"], x["fraction"]) ==
                     (g["strategy"], g["fraction"])), None)
        text = f"{gain['gain']:+.4f} [{gain['ci_low']:+.4f}, {gain['ci_high']:+.4f}]" if gain else ""
        std = f"{g['std']:.4f}" if g["std"] is not None else "-"
        print(f"{g['strategy']:14} {g['n_train']:5d} {g['mean']:.4f} ± {std:>7} {text:>28} {g['train_seconds']:8.1f}")

"""What the textbook's techniques add over plain full fine-tuning, on Rotten Tomatoes (or CoNLL-2003) at small sizes.

    python bench/techniques.py [--dataset rt|conll] [--sizes 100,400,1600] [--seeds 3] [--dapt-texts 2000]
        [--parts A,T,B,C,F,S,M,L] [--long-steps 1000] [--strategies full,partial,gradual] [--model minilm-l6]
        [--out DIR] [--results STEM]

Four ``nlptransfer.compare`` runs on identical splits (same train subsets per size and seed, the
same test set), minilm-l6 (or ``--model``), default training options (epochs chosen from the data, early stopping):
  A  strategies full, partial, gradual, and the classic TF-IDF baseline;
  T  full with adapt=task (task-adaptive pretraining on that run's own training texts; row
     "full+adapt"; in A's folder, on A's split files);
  B  full with layerwise_lr_decay=0.9 (row "full+lld");
  C  full on the model adapted first on IMDB's unlabelled training reviews (``nlptransfer adapt``;
     the same domain, movie reviews; row "full+dapt": domain-adaptive pretraining; Rotten Tomatoes only);
  F  frozen on the model and on the IMDB-adapted model of part C (rows "frozen", "frozen+dapt"):
     whether adaptation helps the features when the backbone is not fine-tuned afterwards
     (bench/adaptation_probe.py found that it helps a linear probe; not in the default parts).
  S  T with the adaptation cut to ``--short-adapt-epochs`` passes (row "full+adaptN"): whether the
     length of task-adaptive pretraining decides its sign (not in the default parts).
  M  full for as many epochs (and as much patience) as the data-sized rule gives ``gradual``, whose
     unfreezing steps come on top (row "full+budget"): whether gradual's gain is more than its extra
     steps; ``gradual`` is then also set against this row (not in the default parts).
  L  full planned for at least ``--long-steps`` optimizer steps instead of the rule's 500 (row
     "full+stepsN"; same patience rule): whether the step minimum is too low; with B, also B planned
     that long (row "full+lld+stepsN"), then set against "full+stepsN": whether layer-wise decay's
     loss is its slower lower blocks running out of steps (not in the default parts).
Finished runs are reused, so more seeds or sizes later only train what is new.
Then every row's gain over plain ``full`` (adapted rows: over the same strategy unadapted) with the
95% paired bootstrap interval over test sentences, and its mean training time.

CPU subsets, said in the results: train sizes as asked (samples of the 8,530 Rotten Tomatoes or
14,041 CoNLL training sentences, per seed), validation 300 sentences sampled with seed 0 (early
stopping only), test complete (1,066 sentences; CoNLL 3,453, strict entity F1, and the classic row
is the word-feature tagger); DAPT on ``--dapt-texts`` IMDB reviews (seed 0), one epoch, windows of
128 tokens. Writes bench/results/techniques-<dataset>-<date>.json (``--results`` names it) and prints a table.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

import harness
import pandas as pd
from augmentation import DATASETS, splits

DATA = harness.SHARED


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=("rt", "conll"), default="rt")
    ap.add_argument("--model", default="minilm-l6", help="the checkpoint every row fine-tunes (an alias, hub id or "
                                                         "folder); smollm2-135m: one whose LM head is pretrained")
    ap.add_argument("--sizes", default="100,400,1600")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--dapt-texts", type=int, default=2000)
    ap.add_argument("--parts", default="A,T,B,C", help="which of the compare runs below (A, the reference and "
                                                       "the split files, is always run, except for F alone)")
    ap.add_argument("--strategies", default="full,partial,gradual", help="part A's strategies (full is needed: "
                                                                           "the reference)")
    ap.add_argument("--short-adapt-epochs", type=int, default=20, help="part S: adapt_epochs")
    ap.add_argument("--long-steps", type=int, default=1000, help="part L: the step minimum for full")
    ap.add_argument("--out", default="/tmp/techniques")
    ap.add_argument("--results", help="results file stem (default techniques-<dataset>): bench/results/STEM-DATE.json; "
                                      "a new stem keeps an earlier file of the same day apart")
    args = ap.parse_args()
    # A holds the reference and the split files; F alone compares frozen with frozen and needs neither
    # (so a checkpoint too slow to fine-tune on this CPU can still be measured).
    parts = set(args.parts.split(","))
    parts |= {"A"} if parts != {"F"} else set()
    if parts & {"C", "F"} and args.dataset != "rt":
        ap.error("parts C and F adapt on IMDB reviews, the domain of Rotten Tomatoes: use them with --dataset rt only.")
    task = DATASETS[args.dataset][0]

    from nlptransfer import TrainConfig, adapt, compare
    from nlptransfer.comparison.summary import load_runs, summarize

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, validation, test, n_train = splits(args.dataset, out)
    fractions = [int(s) / n_train for s in args.sizes.split(",")]
    base = TrainConfig(progress=False)
    common = dict(seeds=args.seeds, train_fractions=fractions, classic=False)
    started = time.perf_counter()
    # T shares A's folder (and so A's split files): compare.json then describes A, so T's runs are noted first.
    task_adapted = {}
    if "T" in parts:
        compare(task, train, validation, test, models=[args.model], strategies=["full"], adapt=["task"],
                output_dir=str(out / "A"), training=base, **common)
        task_adapted = json.loads((out / "A" / "compare.json").read_text())["runs"]
    if "A" in parts:
        compare(task, train, validation, test, models=[args.model], strategies=args.strategies.split(","),
                output_dir=str(out / "A"), training=base, **{**common, "classic": True})
    if "B" in parts:
        compare(task, train, validation, test, models=[args.model], strategies=["full"],
                output_dir=str(out / "B"), training=dataclasses.replace(base, layerwise_lr_decay=0.9), **common)
    if "S" in parts:
        compare(task, train, validation, test, models=[args.model], strategies=["full"], adapt=["task"],
                output_dir=str(out / "S"), training=dataclasses.replace(base, adapt_epochs=args.short_adapt_epochs),
                **common)
    budget, longer, longer_lld = {}, {}, {}  # train size -> the M (L, L with B) runs' folder
    if parts & {"M", "L"}:
        from transformers import AutoConfig

        from nlptransfer.models.pretrained import resolve
        from nlptransfer.training.epochs import MAX_EPOCHS, MIN_EPOCHS, epochs_for, patience_for, unfreezing_steps

        blocks = AutoConfig.from_pretrained(resolve(args.model)).num_hidden_layers
        for size, fraction in zip(args.sizes.split(","), fractions):
            n = len((out / "A" / "splits" / f"train-f{fraction:g}-s0.jsonl").read_text().splitlines())  # A's subset
            per_epoch = math.ceil(n / base.batch_size)  # what the loop counts, one process
            planned = {"M": (budget, epochs_for(per_epoch, unfreezing_steps(per_epoch, blocks))),
                       "L": (longer, min(max(math.ceil(args.long_steps / per_epoch), MIN_EPOCHS), MAX_EPOCHS))}
            planned["BL"] = (longer_lld, planned["L"][1])  # B's row planned as long as L's
            for part in sorted(parts & {"M", "L"} | ({"BL"} if {"B", "L"} <= parts else set())):
                folders, epochs = planned[part]
                folders[size] = out / part / size
                matched = dataclasses.replace(base, epochs=epochs, early_stopping_patience=patience_for(
                    base.early_stopping_patience, per_epoch), layerwise_lr_decay=0.9 if part == "BL" else None)
                compare(task, train, validation, test, models=[args.model], strategies=["full"],
                        output_dir=str(folders[size]), training=matched, **{**common, "train_fractions": [fraction]})
    # Adapted models and their runs are kept apart by corpus size (2,000 reviews: no suffix, as before).
    tag = "" if args.dapt_texts == 2000 else str(args.dapt_texts)
    folder_of = {"C": f"C{tag}", "F": f"F{tag}"}
    dapt = out / f"{args.model}-imdb{tag}"
    if parts & {"C", "F"} and not (dapt / "adaptation.json").exists():
        reviews = pd.read_csv(DATA / "imdb" / "train.csv.gz")["text"].sample(n=args.dapt_texts, random_state=0)
        adapt(args.model, reviews.tolist(), dapt, training=TrainConfig(epochs=1, progress=False), overwrite=True)
    if "C" in parts:
        compare(task, train, validation, test, models=[str(dapt)], strategies=["full"],
                output_dir=str(out / folder_of["C"]), training=base, **common)
    if "F" in parts:
        compare(task, train, validation, test, models=[args.model, str(dapt)], strategies=["frozen"],
                output_dir=str(out / folder_of["F"]), training=base, **common)

    runs = []
    for part, rename in (("A", {}), ("B", {"full": "full+lld"}), ("C", {"full": "full+dapt"}),
                         ("S", {"full+adapt": f"full+adapt{args.short_adapt_epochs}"}), ("F", {})):
        if part not in parts:
            continue
        folder = out / folder_of.get(part, part)
        wanted = json.loads((folder / "compare.json").read_text())["runs"]
        for run in load_runs(folder, {**wanted, **task_adapted} if part == "A" else wanted):
            run["strategy"] = rename.get(run["strategy"], run["strategy"])
            if part == "F" and run["model"] == str(dapt):
                run["strategy"] += "+dapt"
            run["model"] = args.model if run["model"] != "classic" else "classic"
            runs.append(run)
    long_row = f"full+steps{args.long_steps}"
    for row, folders in (("full+budget", budget), (long_row, longer), (f"full+lld+steps{args.long_steps}", longer_lld)):
        for folder in folders.values():
            wanted = json.loads((folder / "compare.json").read_text())["runs"]
            runs += [{**run, "model": args.model, "strategy": row} for run in load_runs(folder, wanted)]
    summary = summarize(runs, task)
    rows = [{"kind": "gain", **g} for g in summary["versus_plain"]] + [{"kind": "group", **g} for g in summary["groups"]]
    if budget:  # gradual against full given the same epochs: "full+budget" stands in as the plain row
        matched = summarize([{**r, "strategy": "full"} if r["strategy"] == "full+budget" else r for r in runs
                             if r["strategy"] in ("gradual", "full+budget")], task)
        rows += [{"kind": "gain_vs_budget", **g, "reference": "full+budget"} for g in matched["versus_plain"]]
    if longer_lld:  # layer-wise decay against full, both planned for the longer run
        at_length = summarize([{**r, "strategy": r["strategy"].replace(f"+steps{args.long_steps}", "")} for r in runs
                               if r["strategy"] in (long_row, f"full+lld+steps{args.long_steps}")], task)
        rows += [{"kind": "gain_at_long_steps", **g, "steps": args.long_steps} for g in at_length["versus_plain"]]
    if parts & {"C", "F"}:
        rows.append({"kind": "dapt", **json.loads((dapt / "adaptation.json").read_text())})
    stem = args.results or f"techniques-{args.dataset}"
    report = harness.save_results(stem, rows, ("kind", "model", "strategy", "fraction"))
    dapt_note = f"; DAPT on {args.dapt_texts} IMDB train reviews" if parts & {"C", "F"} else ""
    report.update(dataset=args.dataset, subsets=f"train sizes {args.sizes} of {n_train}; validation 300 (seed 0); "
                                                f"test complete{dapt_note}",
                  seeds=args.seeds, parts=sorted(parts), wall_seconds=round(time.perf_counter() - started))
    path = Path(__file__).parent / "results" / f"{stem}-{report['date']}.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    harness.print_gains(summary, "gain vs plain")
    if budget:
        harness.print_gains(matched, "gradual vs full+budget")
    if longer_lld:
        harness.print_gains(at_length, f"full+lld vs full, both planned for {args.long_steps} steps")


if __name__ == "__main__":
    main()

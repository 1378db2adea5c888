"""Does augmentation help at small sizes? ``full`` with and without augmented training copies, paired.

    python bench/augmentation.py --dataset rt --sizes 50,200,800 --seeds 3 [--out DIR]
    python bench/augmentation.py --dataset sms --sizes 50,200,800 --seeds 3
    python bench/augmentation.py --dataset conll --sizes 50,200,800 --seeds 3   # eda and mention
    python bench/augmentation.py --dataset rt --sizes 50 --augment none,eda,mlm --augment-model adapted/

One ``nlptransfer.compare`` per dataset on identical splits: minilm-l6, default training options
(epochs chosen from the data, early stopping), ``augment`` none and eda (CoNLL also mention), one
augmented copy per example, and the classic baseline (TF-IDF / word-feature tagger, unaugmented).
Each augmented row's gain over the unaugmented row is paired over test examples (95% bootstrap).

CPU subsets, said in the results: train sizes as asked (stratified samples, per seed), validation
300 examples sampled with seed 0 (CoNLL: 300 sentences; early stopping, threshold), test complete
(RT 1,066 sentences, SMS 821 messages, CoNLL 3,453 sentences). Finished runs are reused.
Writes bench/results/augmentation-<date>.json and prints a table.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import harness
import pandas as pd

DATA = harness.SHARED
DATASETS = {"rt": ("sentiment", "rotten_tomatoes", ("none", "eda")), "sms": ("spam", "sms_spam", ("none", "eda")),
            "conll": ("ner", "conll2003", ("none", "eda", "mention"))}


def splits(dataset: str, out: Path):
    """(train, validation, test, number of training examples); validation is a 300-example sample."""
    task, folder, _ = DATASETS[dataset]
    if task == "ner":
        from nlptransfer.data.tagged_table import read_tagged_table

        validation = read_tagged_table(DATA / folder / "validation.txt", name="validation")
        keep = pd.Series(range(len(validation))).sample(n=300, random_state=0).sort_values().tolist()
        path = out / "validation-300.jsonl"
        path.write_text("".join(json.dumps({"tokens": validation.words[i], "tags": validation.tags[i]}) + "\n"
                                for i in keep))
        train = DATA / folder / "train.txt"
        return train, path, DATA / folder / "test.txt", len(read_tagged_table(train).words)
    path = out / "validation-300.csv"
    pd.read_csv(DATA / folder / "validation.csv").sample(n=300, random_state=0).to_csv(path, index=False)
    train = DATA / folder / "train.csv"
    return train, path, DATA / folder / "test.csv", len(pd.read_csv(train))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=tuple(DATASETS), default="rt")
    ap.add_argument("--sizes", default="50,200,800")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default="/tmp/augmentation")
    ap.add_argument("--augment", help="comma-separated augment values (default: none,eda; CoNLL also mention)")
    ap.add_argument("--augment-model", help="augment=mlm: a folder with a masked-LM head (`nlptransfer adapt`)")
    args = ap.parse_args()

    from nlptransfer import TrainConfig, compare

    task, _, augment = DATASETS[args.dataset]
    augment = tuple(args.augment.split(",")) if args.augment else augment
    out = Path(args.out) / args.dataset
    out.mkdir(parents=True, exist_ok=True)
    train, validation, test, n_train = splits(args.dataset, out)
    started = time.perf_counter()
    summary = compare(task, train, validation, test, models=["minilm-l6"], strategies=["full"], augment=augment,
                      seeds=args.seeds, train_fractions=[int(s) / n_train for s in args.sizes.split(",")],
                      output_dir=str(out / "compare"),
                      training=TrainConfig(progress=False, augment_model=args.augment_model))
    rows = [{"dataset": args.dataset, "kind": "gain", **g} for g in summary["versus_plain"]] + \
           [{"dataset": args.dataset, "kind": "group", **g} for g in summary["groups"]]
    path = Path(__file__).parent / "results" / f"augmentation-{time.strftime('%Y-%m-%d')}.json"
    subsets = json.loads(path.read_text()).get("subsets", {}) if path.exists() else {}  # other datasets' runs
    report = harness.save_results("augmentation", rows, ("dataset", "kind", "model", "strategy", "fraction"))
    model = f" (model {args.augment_model})" if args.augment_model else ""
    subsets[args.dataset] = f"train sizes {args.sizes} of {n_train}; validation 300 (seed 0); test complete; " \
                            f"{args.seeds} seeds; augment {','.join(augment)}{model}; " \
                            f"{round(time.perf_counter() - started)} s"
    report.update(subsets=subsets)
    path.write_text(json.dumps(report, indent=1) + "\n")
    harness.print_gains(summary, "gain vs unaugmented")


if __name__ == "__main__":
    main()

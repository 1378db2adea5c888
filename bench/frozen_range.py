"""Does ``frozen`` land in the range ``recommend`` predicts for it? Measured on the ranking subsets.

    python bench/frozen_range.py --datasets sms_spam,rotten_tomatoes,sst2,conll2003

`recommend` predicts `frozen`'s score as the last layer's cross-validated probe plus and minus its
fold spread (docs/choosing.md, "What the predicted range means"). The probe fits on two thirds of
the sample it embeds (1,000 texts; NER 250 sentences); `frozen` trains on the whole training set.
For each dataset this runs `recommend` (frozen only) on bench/ranking.py's subset and sets the
predicted range against `frozen`'s measured test score from the newest bench/results/ranking-*.json
row of that dataset. Writes bench/results/frozen-range-DATE.json.
"""
from __future__ import annotations

import argparse
import json

import harness
import ranking


def measured_frozen(dataset: str) -> tuple[dict, str]:
    """The dataset's frozen scores from the newest ranking results that have it, and that file."""
    for path in sorted(ranking.HERE.glob("results/ranking-2*.json"), reverse=True):
        for row in json.loads(path.read_text())["rows"]:
            if row["dataset"] == dataset:
                return {k.split("/")[0]: v for k, v in row["measured"].items() if k.endswith("/frozen")}, path.name
    raise SystemExit(f"no ranking results for {dataset}: run bench/ranking.py --datasets {dataset} first")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="sms_spam,rotten_tomatoes,sst2,conll2003")
    args = ap.parse_args()
    from nlptransfer import recommend

    rows = []
    for dataset in args.datasets.split(","):
        measured, source = measured_frozen(dataset)
        paths = ranking.prepare(dataset)
        result = recommend(ranking.TASKS[dataset], str(paths["train"]), str(paths["validation"]),
                           models=list(measured), strategies=["frozen"], sample_size=ranking.SAMPLE)
        for c in result.candidates:
            low, high = c.predicted
            row = {"dataset": dataset, "model": c.model, "predicted": [low, high], "measured": measured[c.model],
                   "measured_in": source, "inside": low <= measured[c.model] <= high,
                   "above_by": measured[c.model] - high}
            rows.append(row)
            where = ("inside" if row["inside"] else f"{100 * row['above_by']:.1f} points above the top"
                     if row["above_by"] > 0 else f"{100 * (low - row['measured']):.1f} points below the bottom")
            print(f"{dataset} {c.model}: predicted {low:.3f}-{high:.3f}, measured {measured[c.model]:.3f} ({where})",
                  flush=True)
    harness.save_results("frozen-range", rows, ("dataset", "model"))


if __name__ == "__main__":
    main()

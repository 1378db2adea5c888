"""Where does recommend's classic-bar rule fire? The cross-validated classic bar against the best
probe (minilm-l6) on the subsets the rule's evidence names.

    python bench/classic_bar.py

The rule (docs/choosing.md, rule 3): text classification beyond few labels, classic bar at least
the best probe minus its fold spread -> the classic model. Subsets: the bundled SMS sample (800
train); 64 messages per class of it (numpy seed 0); bench/ranking.py's 1,000-text subsets of SMS
Spam, Rotten Tomatoes and SST-2. Writes bench/results/classic-bar-<date>.json.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

import harness
import ranking

SAMPLES = ranking.HERE.parent / "nlptransfer" / "samples"


def cases(scratch) -> dict:
    train, validation = SAMPLES / "sms_spam_train.csv", SAMPLES / "sms_spam_validation.csv"
    found = {"sms bundled 800": ("spam", train, validation)}
    frame = pd.read_csv(train)
    rng = np.random.default_rng(0)
    keep = np.concatenate([rng.choice(np.flatnonzero(frame.label == c), 64, replace=False) for c in ("ham", "spam")])
    frame.iloc[sorted(keep)].to_csv(scratch / "sms128.csv", index=False)
    found["sms bundled, 64 per class"] = ("spam", scratch / "sms128.csv", validation)
    for dataset in ("sms_spam", "rotten_tomatoes", "sst2"):
        paths = ranking.prepare(dataset)
        found[f"{dataset} 1,000 (ranking subset)"] = (ranking.TASKS[dataset], paths["train"], paths["validation"])
    return found


def main() -> None:
    import tempfile
    from pathlib import Path

    from nlptransfer import recommend

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, (task, train, validation) in cases(Path(scratch)).items():
            result = recommend(task, str(train), str(validation), models=["minilm-l6"], strategies=["frozen"])
            best, bar = result.checkpoints[0]["best"], result.data["classic"]
            rows.append({"subset": name, "classic_bar": bar["score"], "classic_spread": bar["spread"],
                         "probe": best["probe"], "probe_spread": best["probe_spread"],
                         "fires": bar["score"] >= best["probe"] - best["probe_spread"],
                         "picked": f"{result.model}/{result.strategy}"})
            print(rows[-1], flush=True)
    harness.save_results("classic-bar", rows, ("subset",))


if __name__ == "__main__":
    main()

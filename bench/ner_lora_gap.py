"""Where does LoRA on CoNLL-2003 lose to the run_ner.py recipe? One factor at a time, 3 seeds.

    python bench/ner_lora_gap.py --variants library,hf_head_init,trainer --seeds 42,1,2

The setting of bench/ner.py's LoRA rows (2,000 train / 1,000 validation sentences sampled with the
seed, all 3,453 test sentences, minilm-l6, r 8, alpha 16, query/value, lr 5e-4, batch 32, 3
epochs, 10% warmup, no early stopping). ``library`` is nlptransfer as it is; ``no_grouping``
turns length-grouped batches off; ``hf_head_init`` initialises the head as Hugging Face's token
classification head does (normal(0, 0.02), zero bias) by patching, without changing the library.
``trainer`` is the reference, bench/ner.py's run_ner.py recipe, run by this script in the same run. Writes
bench/results/ner-lora-gap-<date>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VARIANTS = {"library": ({}, False), "no_grouping": ({"group_by_length": False}, False),
            "hf_head_init": ({}, True), "both": ({"group_by_length": False}, True)}


def run_one(variant: str, seed: int) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    import ner  # noqa: E402  (bench/ner.py: the same splits)

    from nlptransfer import EntityTagger, TrainConfig

    if variant == "trainer":  # the reference, in the same run: bench/ner.py's run_ner.py recipe
        args = argparse.Namespace(train_size=2000, validation_size=1000, seed=seed, epochs=3, batch_size=32,
                                  max_length=128)
        return {"variant": variant, "seed": seed, "f1": ner.run_trainer(args, "lora")["metric"]}
    overrides, patch = VARIANTS[variant]
    if patch:
        import torch

        from nlptransfer.models import task_model

        original = task_model.TaskModel.__init__

        def init(self, *args, **kwargs):
            original(self, *args, **kwargs)
            torch.nn.init.normal_(self.classifier_head.weight, std=0.02)
            torch.nn.init.zeros_(self.classifier_head.bias)

        task_model.TaskModel.__init__ = init
    args = argparse.Namespace(train_size=2000, validation_size=1000, seed=seed)
    train, validation, test = ner.load_splits(args)
    cfg = TrainConfig(**{"epochs": 3, "batch_size": 32, "learning_rate": 5e-4, "max_length": 128,
                         "early_stopping_patience": None, "progress": False, "seed": seed, **overrides})
    tagger = EntityTagger("minilm-l6", "lora", training=cfg, output_dir=tempfile.mkdtemp()).fit(train, validation)
    return {"variant": variant, "seed": seed, "f1": tagger.evaluate(test)["f1"], "train_s": tagger.train_seconds_,
            "validation_f1": [h["validation_score"] for h in tagger.history_]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default=",".join([*VARIANTS, "trainer"]))
    ap.add_argument("--seeds", default="42,1,2")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        variant, seed = args.one.split(":")
        print("RESULT " + json.dumps(run_one(variant, int(seed))), flush=True)
        return
    rows = []
    for variant in args.variants.split(","):
        for seed in map(int, args.seeds.split(",")):
            out = subprocess.run([sys.executable, __file__, "--one", f"{variant}:{seed}"], capture_output=True,
                                 text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
            found = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
            if not found:
                raise SystemExit(f"{variant}/{seed} failed:\n{out.stderr[-3000:]}")
            rows.append(json.loads(found[-1][7:]))
            print(rows[-1], flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    path = Path(__file__).parent / "results" / f"ner-lora-gap-{time.strftime('%Y-%m-%d')}.json"
    previous = json.loads(path.read_text())["rows"] if path.exists() else []
    done = {(r["variant"], r["seed"]) for r in rows}
    rows = [r for r in previous if (r["variant"], r["seed"]) not in done] + rows
    path.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "commit": commit, "command": "python " +
                                " ".join(sys.argv), "machine": "2 CPU cores, no GPU", "rows": rows}, indent=1) + "\n")
    for variant in dict.fromkeys(r["variant"] for r in rows):
        f1 = [r["f1"] for r in rows if r["variant"] == variant]
        print(f"{variant}: entity F1 {np.mean(f1):.4f} ± {np.std(f1, ddof=1) if len(f1) > 1 else 0:.4f} over {len(f1)} seeds")


if __name__ == "__main__":
    main()

"""Masked-LM adaptation of a checkpoint without an MLM head: what the sparse output layer saves
and what training the fresh head alone first buys. Several seeds, each variant in its own process.

    python bench/adapt_head.py --variants reference,sparse,library,slow_warmup --seeds 42,1,2

all-MiniLM-L6-v2 (a sentence encoder: BERT's MLM transform layer starts fresh), the first 600
Rotten Tomatoes training sentences, a third of them (chosen with the seed) held out to measure the
masked-LM loss, one epoch of adaptation at batch 16, lr 5e-5, max_length 128 (CPU).
``reference`` is what transformers' masked-LM models and run_mlm.py do: logits at every position,
no head warm-up (nlptransfer before this change, restored by patching). ``sparse`` scores only
the masked positions; ``library`` is nlptransfer as it is (sparse, then the head warm-up);
``slow_warmup`` the same with the warm-up at lr 1e-4. The seconds include the warm-up.
Writes bench/results/adapt-head-<date>.json.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import harness  # noqa: E402

VARIANTS = {"reference": (False, False), "sparse": (True, False), "library": (True, True),
            "slow_warmup": (True, True)}  # the warm-up at lr 1e-4 instead of HEAD_WARMUP_LR


def run_one(variant: str, seed: int) -> dict:
    import pandas as pd

    from nlptransfer import TrainConfig, adapt
    from nlptransfer.training import adaptation, lm_objective

    sparse, warm_up = VARIANTS[variant]
    if not sparse:
        lm_objective.per_position_head = lambda lm, sample_ids: (None, None)
    if not warm_up:
        adaptation._warm_up_head = lambda *args, **kwargs: None
    if variant == "slow_warmup":
        adaptation.HEAD_WARMUP_LR = 1e-4
    texts = pd.read_csv(harness.SHARED / "rotten_tomatoes" / "train.csv")["text"].head(600).tolist()
    cfg = TrainConfig(epochs=1, batch_size=16, learning_rate=5e-5, max_length=128, progress=False, seed=seed)
    done = adapt("minilm-l6", texts, tempfile.mkdtemp(), training=cfg, held_out=1 / 3)
    warm = done.head_warmup or {}
    return {"variant": variant, "seed": seed, "seconds": round(done.seconds, 1), "steps": done.optimizer_steps,
            "loss_before": done.held_out_loss_before, "loss_after_warmup": warm.get("held_out_loss"),
            "warmup_steps": warm.get("steps"), "loss_after": done.held_out_loss_after}


def main() -> None:
    rows = harness.variants_main(__doc__, __file__, list(VARIANTS), "42,1,2", run_one, "adapt-head")
    if rows is None:
        return
    print("| variant | seeds | adapt s (mean) | held-out loss before | after warm-up | after adaptation (mean ± sd) |")
    print("|---|---:|---:|---:|---:|---:|")
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant]
        after = [r["loss_after"] for r in mine]
        warm = [r["loss_after_warmup"] for r in mine if r["loss_after_warmup"] is not None]
        print(f"| {variant} | {len(mine)} | {np.mean([r['seconds'] for r in mine]):.1f} | "
              f"{np.mean([r['loss_before'] for r in mine]):.3f} | {np.mean(warm) if warm else float('nan'):.3f} | "
              f"{np.mean(after):.3f} ± {np.std(after, ddof=1) if len(after) > 1 else 0:.3f} |")


if __name__ == "__main__":
    main()

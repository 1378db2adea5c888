"""Where does LoRA on CoNLL-2003 lose to the run_ner.py recipe? One factor at a time, 3 seeds.

    python bench/ner_lora_gap.py --variants library,hf_head_init,trainer --seeds 42,1,2

The setting of bench/ner.py's LoRA rows (2,000 train / 1,000 validation sentences sampled with the
seed, all 3,453 test sentences, minilm-l6, r 8, alpha 16, query/value, lr 5e-4, batch 32, 3
epochs, 10% warmup, no early stopping). ``library`` is nlptransfer as it is; ``no_grouping``
turns length-grouped batches off; ``hf_head_init`` initialises the head as Hugging Face's token
classification head does (normal(0, 0.02), zero bias) by patching, without changing the library;
``mega4`` keeps length grouping but draws each group among 4 batches' sentences instead of up to
50 (patched, too); ``epoch_norm`` keeps the groups but divides each step's loss by the training
set's mean labelled words per batch instead of the step's own count (patched).
``trainer`` is the reference, bench/ner.py's run_ner.py recipe, run by this script in the same run.
A variant ending ``@N`` trains N epochs instead of 3 on either side (``library@16,trainer@16``:
1,008 optimizer steps, what the NER step minimum gives this size). Writes
bench/results/ner-lora-gap-<date>.json.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import harness  # noqa: E402

BATCH = 32


def patch_epoch_norm(train) -> None:
    """Each step's summed loss divided by a constant, ``train``'s labelled words per batch,
    instead of by the step's own count: every word weighs the same over the epoch, whatever the
    batch's length group (a probe, patched into the tagger in this process only). It assumes one
    batch per optimizer step on one process, as this script's runs have; the loop sums the weight
    over a step's micro-batches and processes."""
    import torch

    from nlptransfer.estimators import tagging
    from nlptransfer.training.losses import SummedCrossEntropy

    class EpochNormalised(SummedCrossEntropy):
        def weight(self, labels):
            return torch.tensor(per_batch, device=labels.device)

    per_batch = sum(map(len, train.words)) / -(-len(train.words) // BATCH)
    tagging.SummedCrossEntropy = EpochNormalised


# name -> (TrainConfig overrides, a patch of this process given the training table, or None)
VARIANTS = {"library": ({}, None), "no_grouping": ({"group_by_length": False}, None),
            "hf_head_init": ({}, lambda _: harness.patch_head_init()),
            "both": ({"group_by_length": False}, lambda _: harness.patch_head_init()),
            "mega4": ({}, lambda _: harness.patch_mega_batch(4)), "epoch_norm": ({}, patch_epoch_norm)}


def run_one(variant: str, seed: int) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    import ner  # noqa: E402  (bench/ner.py: the same splits)

    from nlptransfer import EntityTagger, TrainConfig

    name, _, epochs = variant.partition("@")
    epochs = int(epochs or 3)
    if name == "trainer":  # the reference, in the same run: bench/ner.py's run_ner.py recipe
        args = argparse.Namespace(train_size=2000, validation_size=1000, seed=seed, epochs=epochs, batch_size=BATCH,
                                  max_length=128)
        return {"variant": variant, "seed": seed, "f1": ner.run_trainer(args, "lora")["metric"]}
    overrides, patch = VARIANTS[name]
    args = argparse.Namespace(train_size=2000, validation_size=1000, seed=seed)
    train, validation, test = ner.load_splits(args)
    if patch is not None:
        patch(train)
    cfg = TrainConfig(**{"epochs": epochs, "batch_size": BATCH, "learning_rate": 5e-4, "max_length": 128,
                         "early_stopping_patience": None, "progress": False, "seed": seed, **overrides})
    tagger = EntityTagger("minilm-l6", "lora", training=cfg, output_dir=tempfile.mkdtemp()).fit(train, validation)
    return {"variant": variant, "seed": seed, "f1": tagger.evaluate(test)["f1"], "train_s": tagger.train_seconds_,
            "validation_f1": [h["validation_score"] for h in tagger.history_]}


def main() -> None:
    rows = harness.variants_main(__doc__, __file__, [*VARIANTS, "trainer"], "42,1,2", run_one, "ner-lora-gap")
    if rows is None:
        return
    for variant in dict.fromkeys(r["variant"] for r in rows):
        f1 = [r["f1"] for r in rows if r["variant"] == variant]
        print(f"{variant}: entity F1 {np.mean(f1):.4f} ± {np.std(f1, ddof=1) if len(f1) > 1 else 0:.4f} over {len(f1)} seeds")


if __name__ == "__main__":
    main()

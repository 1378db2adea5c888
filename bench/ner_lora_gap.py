"""Where does LoRA on CoNLL-2003 lose to the run_ner.py recipe? One factor at a time, 3 seeds.

    python bench/ner_lora_gap.py --variants library,hf_head_init,trainer --seeds 42,1,2

The setting of bench/ner.py's LoRA rows (2,000 train / 1,000 validation sentences sampled with the
seed, all 3,453 test sentences, minilm-l6, r 8, alpha 16, query/value, lr 5e-4, batch 32, 3
epochs, 10% warmup, no early stopping). ``library`` is nlptransfer as it is; ``no_grouping``
turns length-grouped batches off; ``hf_head_init`` initialises the head as Hugging Face's token
classification head does (normal(0, 0.02), zero bias) by patching, without changing the library;
``mega4`` keeps length grouping but draws each group among 4 batches' sentences instead of up to
50 (patched, too). The ``epoch_norm`` probe of 2026-12-06 (each step's loss divided by the
training set's mean labelled words per batch, not the step's own count) became the library's rule
after commit aae9c6a: ``library`` rows before it divided by the step's own count. Our rows'
``f1`` is the library's decode (since 72c536e the most probable valid IOB2 sequence); they also
carry the same model's F1 under the raw argmax (``f1_raw_decode``, what the recipe scores) and
under the argmax with orphan I-X read as B-X (``f1_lenient_decode``, the library's decode before).
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


# name -> (TrainConfig overrides, a patch of this process, or None)
VARIANTS = {"library": ({}, None), "no_grouping": ({"group_by_length": False}, None),
            "hf_head_init": ({}, harness.patch_head_init),
            "both": ({"group_by_length": False}, harness.patch_head_init),
            "mega4": ({}, lambda: harness.patch_mega_batch(4))}


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
    if patch is not None:
        patch()
    train, validation, test = ner.load_splits(argparse.Namespace(train_size=2000, validation_size=1000, seed=seed))
    cfg = TrainConfig(**{"epochs": epochs, "batch_size": BATCH, "learning_rate": 5e-4, "max_length": 128,
                         "early_stopping_patience": None, "progress": False, "seed": seed, **overrides})
    tagger = EntityTagger("minilm-l6", "lora", training=cfg, output_dir=tempfile.mkdtemp()).fit(train, validation)
    row = {"variant": variant, "seed": seed, "f1": tagger.evaluate(test)["f1"], "train_s": tagger.train_seconds_,
           "validation_f1": [h["validation_score"] for h in tagger.history_]}
    # The same model's test logits decoded two more ways: the raw argmax (what the recipe scores)
    # and the argmax with I-X after no X read as B-X (the library's decode before 2026-12-06).
    from nlptransfer.data.tag_schemes import lenient_iob2
    from nlptransfer.estimators.tagging import predict_word_logits
    from nlptransfer.evaluation.metrics import entity_metrics

    argmax = [[tagger.classes_[i] for i in s.argmax(-1).tolist()]
              for s in predict_word_logits(tagger.fitted_, test.words)]
    row["f1_raw_decode"] = entity_metrics(test.tags, argmax)["f1"]
    row["f1_lenient_decode"] = entity_metrics(test.tags, [lenient_iob2(t) for t in argmax])["f1"]
    return row


def main() -> None:
    rows = harness.variants_main(__doc__, __file__, [*VARIANTS, "trainer"], "42,1,2", run_one, "ner-lora-gap")
    if rows is None:
        return
    for variant in dict.fromkeys(r["variant"] for r in rows):
        f1 = [r["f1"] for r in rows if r["variant"] == variant]
        print(f"{variant}: entity F1 {np.mean(f1):.4f} ± {np.std(f1, ddof=1) if len(f1) > 1 else 0:.4f} over {len(f1)} seeds")


if __name__ == "__main__":
    main()

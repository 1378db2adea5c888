"""Does ``recommend``'s NER probe predict what ``frozen`` scores? The probe recipe against the head's.

    python bench/ner_probe_recipe.py      # after bench/ranking.py --datasets conll2003 wrote the subset

`recommend` scores each checkpoint's word features with a cross-validated logistic regression
(raw features, C = 0.1) and prints the last layer's score as `frozen`'s predicted range. `frozen`
itself trains on unit-length features with C chosen on validation from a grid up to 100
(BENCHMARKS.md, "Frozen features: unit length"). On the CoNLL ranking subset (2026-12-07) the
measured `frozen` scores were 15-29 points above the predicted ranges. This script embeds the
same 250-sentence sample recommend embeds (TaggedSample, seed 0), every layer, and scores the
layers with the probe under several recipes, so the recipes can be set against the measured
`frozen` and `full` scores of out/ranking/conll2003. Writes bench/results/ner-probe-recipe-DATE.json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import harness

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "out" / "ranking" / "conll2003"
RECIPES = {"raw C=0.1 (recommend)": (False, 0.1), "unit C=1": (True, 1.0), "unit C=10": (True, 10.0),
           "unit C=100": (True, 100.0)}


def layers_of(model: str, sample, config, accelerator, cache: Path) -> list[np.ndarray]:
    from nlptransfer.data.tagged_table import TaggedTable
    from nlptransfer.data.word_windows import encode_tagged, tag_collator
    from nlptransfer.models.task_model import build_task_model
    from nlptransfer.selection.layer_features import word_layer_features

    # TaggedSample.score embeds the same way but keeps only the scores, not the layers
    path = cache / f"{model}.npz"
    if not path.exists():
        built = build_task_model(model, sample.num_labels, "frozen", config, pooling="none")
        dataset = encode_tagged(built.tokenizer, TaggedTable(sample.words, sample.sentence_tags, "sample"),
                                sample.tags, config)
        layers = word_layer_features(built, dataset, tag_collator(built.tokenizer), accelerator,
                                     config.eval_batch_size)
        np.savez(path, *layers)
    stored = np.load(path)
    return [stored[f"arr_{i}"] for i in range(len(stored.files))]


def probe(features: np.ndarray, sample, unit: bool, c: float, seed: int) -> float:
    """The library's probe under another recipe (3,000 iterations: C = 100 needs more than its 1,000)."""
    from nlptransfer.selection.scoring import ner_probe

    lengths = [len(s) for s in sample.words]
    return ner_probe(lengths, sample.sentence_tags, seed, c=c, unit_length=unit, max_iter=3000)(features)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="minilm-l6,mpnet-base,smollm2-135m")
    ap.add_argument("--cache", default="/tmp/ner-probe-recipe")
    args = ap.parse_args()
    from accelerate import Accelerator

    from nlptransfer.config import RunConfig, TrainConfig
    from nlptransfer.selection.sample import TaggedSample
    from nlptransfer.task_types import task_type, training_for

    config = training_for(task_type("ner"), TrainConfig(progress=False, seed=0))
    run = RunConfig(task="ner", model="minilm-l6", training=config)
    sample = TaggedSample(run, str(DATA / "data" / "train.jsonl"), str(DATA / "data" / "validation.jsonl"), 250, 0)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    measured = {}
    for result in (DATA / "compare-seed0" / "runs").glob("*/result.json"):
        job = json.loads((result.parent / "job.json").read_text())
        measured[f"{job['model']}/{job['strategy']}"] = json.loads(result.read_text())["metrics"]["f1"]
    rows = []
    for model in args.models.split(","):
        layers = layers_of(model, sample, config, Accelerator(cpu=True), cache)
        per = {name: [probe(x, sample, unit, c, 0) for x in layers] for name, (unit, c) in RECIPES.items()}
        rows.append({"model": model, "per_layer": per, "measured_frozen": measured.get(f"{model}/frozen"),
                     "measured_full": measured.get(f"{model}/full")})
        print(f"{model}: frozen {measured.get(f'{model}/frozen')}, full {measured.get(f'{model}/full')}")
        for name, scores in per.items():
            print(f"  {name:24s} last {scores[-1]:.3f}  best {max(scores):.3f} (layer {int(np.argmax(scores))})",
                  flush=True)
    harness.save_results("ner-probe-recipe", rows, ("model",))


if __name__ == "__main__":
    main()

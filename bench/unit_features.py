"""Raw or unit-length embeddings under a logistic-regression head? (issue #11: why frozen and
contrastive trailed). Each part fits the same head on the same features, raw and L2-normalised:

    python bench/unit_features.py --parts frozen_sms,frozen_ner,contrastive_sms

- frozen_sms: minilm-l6 mean-pooled embeddings of the bundled SMS sample (800 / 200 / 400),
  LogisticRegression (balanced), C from two grids chosen on validation spam F1; test spam F1.
- frozen_ner: minilm-l6 first-sub-token word vectors of bench/ner.py's CoNLL subset (2,000 train /
  1,000 validation sentences, seed 42; all 3,453 test sentences), LogisticRegression with C on
  validation entity F1; test entity F1 (strict IOB2, lenient decode).
- contrastive_sms: nlptransfer's contrastive strategy at the library's commit (8 and 64 texts per
  class of the SMS train split, seeds 0, 1, 2, no validation), then LogisticRegression (C=1, as
  SetFit) on its raw and on its normalised embeddings; test spam F1 on the 821-message test split.
Deterministic apart from the contrastive seeds. Writes bench/results/unit-features-<date>.json.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from accelerate import Accelerator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.preprocessing import normalize

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness  # noqa: E402
SCALINGS = {"raw": lambda a: a, "unit": normalize}


def frozen_sms() -> list[dict]:
    import pandas as pd

    from nlptransfer import TrainConfig
    from nlptransfer.data.batching import encode_texts, text_collator
    from nlptransfer.models.inference import extract_features
    from nlptransfer.models.task_model import build_task_model
    from nlptransfer.samples import sms_spam

    data = {k: pd.read_csv(v) for k, v in sms_spam().items()}
    built = build_task_model("minilm-l6", 2, "full", TrainConfig())  # "full": the raw pooled features
    x = {k: extract_features(built.net, encode_texts(built.tokenizer, v["text"].tolist(), 128),
                             text_collator(built.tokenizer), Accelerator(cpu=True), 64).numpy() for k, v in data.items()}
    y = {k: (v["label"] == "spam").to_numpy() for k, v in data.items()}
    rows = []
    for name, scale in SCALINGS.items():
        for grid in ((0.1, 0.3, 1, 3, 10), (1, 3, 10, 30, 100)):
            fit = lambda c: LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(  # noqa: E731
                scale(x["train"]), y["train"])
            c = max(grid, key=lambda c: f1_score(y["validation"], fit(c).predict(scale(x["validation"]))))
            rows.append({"part": "frozen_sms", "features": name, "grid": list(grid), "C": c,
                         "test": float(f1_score(y["test"], fit(c).predict(scale(x["test"]))))})
            print(rows[-1], flush=True)
    return rows


def frozen_ner() -> list[dict]:
    import ner

    from nlptransfer import TrainConfig
    from nlptransfer.data.tag_schemes import lenient_iob2
    from nlptransfer.data.tagged_table import tag_order
    from nlptransfer.data.word_windows import encode_tagged, tag_collator
    from nlptransfer.evaluation.metrics import entity_metrics
    from nlptransfer.models.inference import extract_word_features
    from nlptransfer.models.task_model import build_task_model

    train, val, test = ner.load_splits(argparse.Namespace(train_size=2000, validation_size=1000, seed=42))
    tags, cfg = tag_order(train.tags), TrainConfig()
    built = build_task_model("minilm-l6", len(tags), "full", cfg, pooling="none")
    x = {name: extract_word_features(built.net, encode_tagged(built.tokenizer, table, tags, cfg),
                                     tag_collator(built.tokenizer), Accelerator(cpu=True), 64).numpy()
         for name, table in (("train", train), ("validation", val), ("test", test))}
    y = np.array([t for sentence in train.tags for t in sentence])

    def sentences(flat, table):
        cut = np.cumsum([len(s) for s in table.words])[:-1]
        return [lenient_iob2(list(part)) for part in np.split(flat, cut)]

    rows = []
    for name, scale in SCALINGS.items():
        fits = {c: LogisticRegression(C=c, max_iter=1000).fit(scale(x["train"]), y) for c in (0.1, 1, 10, 100)}
        val_f1 = {c: entity_metrics(val.tags, sentences(m.predict(scale(x["validation"])), val))["f1"]
                  for c, m in fits.items()}
        c = max(val_f1, key=val_f1.get)
        rows.append({"part": "frozen_ner", "features": name, "C": c, "validation": val_f1[c],
                     "test": entity_metrics(test.tags, sentences(fits[c].predict(scale(x["test"])), test))["f1"]})
        print(rows[-1], flush=True)
    return rows


def contrastive_sms() -> list[dict]:
    import few_shot

    from nlptransfer import TextClassifier, TrainConfig
    from nlptransfer.data.batching import encode_texts, text_collator
    from nlptransfer.models.inference import extract_features

    rows = []
    for k in (8, 64):
        for seed in (0, 1, 2):
            train, test = few_shot._subset("sms_spam", k, seed)
            clf = TextClassifier("minilm-l6", "spam", "contrastive", output_dir=tempfile.mkdtemp(),
                                 training=TrainConfig(progress=False, seed=seed)).fit(train)
            clf.model_.unit_features = False  # the raw pooled embeddings of the trained encoder
            embed = lambda texts: extract_features(  # noqa: E731
                clf.model_, encode_texts(clf.tokenizer_, texts, 128), text_collator(clf.tokenizer_),
                Accelerator(cpu=True), 64).numpy()
            x_train, x_test = embed(train["text"].tolist()), embed(test["text"].tolist())
            for name, scale in SCALINGS.items():
                head = LogisticRegression(C=1.0, max_iter=3000).fit(scale(x_train), train["label"] == "spam")
                rows.append({"part": "contrastive_sms", "per_class": k, "seed": seed, "features": name,
                             "test": float(f1_score(test["label"] == "spam", head.predict(scale(x_test))))})
                print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="frozen_sms,frozen_ner,contrastive_sms")
    args = ap.parse_args()
    parts = {"frozen_sms": frozen_sms, "frozen_ner": frozen_ner, "contrastive_sms": contrastive_sms}
    rows = [row for part in args.parts.split(",") for row in parts[part]()]
    harness.save_results("unit-features", rows, ("part", "features", "grid", "per_class", "seed"))

if __name__ == "__main__":
    main()

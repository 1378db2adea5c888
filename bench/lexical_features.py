"""Does TF-IDF beside the frozen sentence embedding help one linear head? (issue #11, item 4)

    python bench/lexical_features.py

The bundled SMS sample (800 train / 200 validation / 400 test, 13% spam), minilm-l6 mean-pooled
embeddings computed once, nlptransfer's TF-IDF vectoriser (word 1-2 + char 2-5 grams).
LogisticRegression with balanced class weights and C chosen on validation spam F1, for TF-IDF
alone, the embedding alone, and both side by side (the embedding L2-normalised and scaled by w).
Deterministic (no seeds involved). Writes bench/results/lexical-features-<date>.json.
"""
from __future__ import annotations


import pandas as pd
import scipy.sparse as sp
from accelerate import Accelerator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.preprocessing import normalize

import harness
from nlptransfer.models.classic import TfidfClassifier
from nlptransfer.data.batching import encode_texts, text_collator
from nlptransfer.models.inference import extract_features
from nlptransfer.models.task_model import build_task_model
from nlptransfer import TrainConfig
from nlptransfer.samples import sms_spam


def main() -> None:
    splits = {k: pd.read_csv(v) for k, v in sms_spam().items()}
    built = build_task_model("minilm-l6", 2, "frozen", TrainConfig())
    embed = lambda texts: extract_features(built.net, encode_texts(built.tokenizer, texts, 128),  # noqa: E731
                                           text_collator(built.tokenizer), Accelerator(cpu=True), 64).numpy()
    emb = {k: embed(v["text"].tolist()) for k, v in splits.items()}
    tfidf = TfidfClassifier().fit(splits["train"]["text"].tolist(), splits["train"]["label"].tolist())
    lex = {k: tfidf.vectorizer_.transform(v["text"].tolist()) for k, v in splits.items()}
    y = {k: (v["label"] == "spam").to_numpy() for k, v in splits.items()}

    def score(features) -> tuple[float, float]:
        fit = lambda c: LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(  # noqa: E731
            features["train"], y["train"])
        c = max((0.3, 1, 3, 10, 30), key=lambda c: f1_score(y["validation"], fit(c).predict(features["validation"])))
        return c, float(f1_score(y["test"], fit(c).predict(features["test"])))

    rows = []
    for name, features in [("tfidf", lex), ("embedding", emb)] + [
            (f"tfidf + embedding (w={w:g})", {k: sp.hstack([lex[k], sp.csr_matrix(normalize(emb[k]) * w)]).tocsr()
                                              for k in lex}) for w in (0.3, 1.0, 3.0)]:
        c, f1 = score(features)
        rows.append({"features": name, "C": c, "test_spam_f1": f1})
        print(rows[-1], flush=True)
    harness.save_results("lexical-features", rows, ("features",))

if __name__ == "__main__":
    main()

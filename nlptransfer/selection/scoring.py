"""Score one checkpoint's layers and the classic baseline on the same sample, in the task's metric.

Classification: every layer gets LogME (cheap); the best layer and the last (the one the frozen
strategy uses) also get H-score, kNN and a cross-validated probe. NER: sentences are split into
folds (a sentence never has words on both sides), the probe tags each held-out word, and the
score is strict entity F1, as for a trained tagger; the classic bar is the feature tagger's.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .transferability import h_score, knn_score, logme, probe_score

__all__ = ["metric_for", "score_layers", "classic_bar", "ner_probe", "ner_classic_bar"]


def metric_for(task, positive: int | None) -> Callable[[np.ndarray, np.ndarray], float]:
    """The task's primary metric on label ids: positive-class F1 (spam) or macro F1."""
    from sklearn.metrics import f1_score

    if positive is not None:
        return lambda truth, predicted: float(f1_score(truth == positive, predicted == positive, zero_division=0))
    return lambda truth, predicted: float(f1_score(truth, predicted, average="macro", zero_division=0))


def score_layers(layers: list[np.ndarray], labels: np.ndarray, metric, balanced: bool, seed: int,
                 probe: Callable | None = None) -> dict:
    """LogME per layer; the full set of estimates for the best layer by LogME and for the last.
    ``probe(features) -> (mean, spread)`` replaces the text probe (NER)."""
    probe = probe or (lambda x: probe_score(x, labels, metric, balanced, seed))
    per_layer = [logme(x, labels) for x in layers]
    best = int(np.argmax(per_layer))
    last = len(layers) - 1
    out = {"layers": len(layers), "logme_per_layer": [round(v, 4) for v in per_layer], "best_layer": best,
           "logme": per_layer[best]}
    for name, index in (("best", best), ("last", last)):
        if name == "last" and index == best:
            out["last"] = out["best"]
            continue
        x = layers[index]
        mean, spread = probe(x)
        out[name] = {"layer": index, "h_score": h_score(x, labels), "knn": knn_score(x, labels, seed=seed),
                     "probe": mean, "probe_spread": spread}
    return out


def classic_bar(texts: list[str], labels: np.ndarray, metric, balanced: bool, seed: int) -> tuple[float, float]:
    """The TF-IDF baseline's score over the same stratified folds as the probes."""
    from sklearn.model_selection import StratifiedKFold

    from ..models.classic import TfidfClassifier
    from .transferability import _folds

    texts, scores = np.asarray(texts, dtype=object), []
    for fit_rows, held_rows in StratifiedKFold(_folds(labels), shuffle=True, random_state=seed).split(texts, labels):
        model = TfidfClassifier(balanced=balanced, seed=seed).fit(texts[fit_rows].tolist(), labels[fit_rows].tolist())
        predicted = np.asarray(model.classes_)[model.predict_proba(texts[held_rows].tolist()).argmax(1)]
        scores.append(metric(labels[held_rows], predicted.astype(labels.dtype)))
    return float(np.mean(scores)), float(np.std(scores))


def _sentence_folds(n_sentences: int, seed: int, k: int = 3) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n_sentences)
    return [np.sort(part) for part in np.array_split(order, k)]


def ner_probe(sentence_lengths: list[int], tags: list[list[str]], seed: int, *, c: float = 0.1,
              unit_length: bool = False, max_iter: int = 1000) -> Callable:
    """A probe over word features (rows in sentence and word order) scored by entity F1.
    ``recommend`` keeps the defaults (raw features, C = 0.1: one fit per fold, no grid);
    bench/ner_probe_recipe.py sets them against ``frozen``'s unit length and C grid."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import normalize

    from ..data.tag_schemes import valid_tag_sequences
    from ..evaluation.metrics import entity_metrics

    starts = np.concatenate([[0], np.cumsum(sentence_lengths)])
    flat = np.asarray([t for sentence in tags for t in sentence], dtype=object)

    def rows(sentences) -> np.ndarray:
        return np.concatenate([np.arange(starts[s], starts[s + 1]) for s in sentences])

    def probe(features: np.ndarray) -> tuple[float, float]:
        if unit_length:
            features = normalize(features)  # each row to unit L2 length
        scores = []
        for held in _sentence_folds(len(sentence_lengths), seed):
            fit = np.setdiff1d(np.arange(len(sentence_lengths)), held)
            model = LogisticRegression(C=c, max_iter=max_iter, random_state=seed).fit(features[rows(fit)],
                                                                                     flat[rows(fit)])
            log_proba, classes = model.predict_log_proba(features[rows(held)]), [str(k) for k in model.classes_]
            cut = np.cumsum([sentence_lengths[s] for s in held])[:-1]
            guessed = valid_tag_sequences(np.split(log_proba, cut), classes)
            scores.append(entity_metrics([tags[s] for s in held], guessed)["f1"])
        return float(np.mean(scores)), float(np.std(scores))

    return probe


def ner_classic_bar(words: list[list[str]], tags: list[list[str]], seed: int) -> tuple[float, float]:
    from ..models.classic import FeatureTagger
    from ..evaluation.metrics import entity_metrics

    scores = []
    for held in _sentence_folds(len(words), seed):
        fit = np.setdiff1d(np.arange(len(words)), held)
        tagger = FeatureTagger(seed=seed).fit([words[i] for i in fit], [tags[i] for i in fit])
        scores.append(entity_metrics([tags[i] for i in held], tagger.predict_tags([words[i] for i in held]))["f1"])
    return float(np.mean(scores)), float(np.std(scores))

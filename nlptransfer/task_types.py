"""Task types, one registry row each, and the rules that differ between them.

sentiment: any number of classes; early stopping on macro F1; argmax decisions.
spam: binary and usually imbalanced. Class-weighted loss (automatic when the minority class is
under 25%), early stopping on PR-AUC, positive-class metrics in every report, and a decision
threshold tuned on validation (best F1, or the lowest threshold reaching a target precision).
ner: one IOB2 tag per word; early stopping and ranking on strict entity F1.

A new task type is a row here plus, if it needs one, its estimator.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from .errors import DataError

__all__ = ["TaskType", "TASK_TYPES", "task_type", "training_for", "positive_label", "class_weights", "tune_threshold",
           "selection_score", "text_probabilities", "decide", "MINORITY_SHARE_FOR_WEIGHTS"]

MINORITY_SHARE_FOR_WEIGHTS = 0.25


@dataclass(frozen=True)
class TaskType:
    """name: what users pass as ``task=``.
    estimator: the kind of estimator that fits it ("text-classifier" or "entity-tagger"), which
        is also the ``kind`` written to a saved folder's nlptransfer.json.
    primary_metric: the metric key reports lead with and ``compare`` ranks by.
    selection_metric: the validation score that picks the epoch whose weights are kept.
    binary: exactly two classes, one of them "positive", decided by a tuned threshold.
    chunk_pooling: how a text read in windows (``long_texts=chunks``) gets one probability:
        "mean" of its windows, or "max" of the positive class (a message is spam if any part is).
    min_steps: the optimizer steps that epochs chosen from the data reach at least, where the
        training rule's (``training.epochs.MIN_STEPS``, 500) is too few; ``min_steps=`` overrides.
        A tagger needs more than a sentence classifier: on CoNLL-2003 1,000 steps gained 3.8 entity
        F1 points over 500 at 800 sentences (higher in each of 3 seeds) and 3.4 over 600 at 3,200;
        on Rotten Tomatoes they gained nothing at 400 sentences and cost ``full`` 1.2 points at
        1,600 (BENCHMARKS.md, "How many steps").
    """

    name: str
    estimator: str
    primary_metric: str
    selection_metric: str
    binary: bool = False
    chunk_pooling: str = "mean"
    min_steps: int | None = None

    @property
    def classification(self) -> bool:
        return self.estimator == "text-classifier"


TASK_TYPES: dict[str, TaskType] = {
    "sentiment": TaskType("sentiment", "text-classifier", "macro_f1", "macro_f1"),
    "spam": TaskType("spam", "text-classifier", "positive_f1", "pr_auc", binary=True, chunk_pooling="max"),
    "ner": TaskType("ner", "entity-tagger", "f1", "entity_f1", min_steps=1000),
}


def task_type(name: str) -> TaskType:
    from .errors import ConfigError

    if name not in TASK_TYPES:
        raise ConfigError(f"task must be one of {', '.join(TASK_TYPES)}; got {name!r}.")
    return TASK_TYPES[name]


def training_for(kind: TaskType, config):
    """``config`` (a TrainConfig) with the task type's step minimum where the user left ``min_steps``
    unset: what fine-tuning uses (adaptive pretraining keeps the general rule)."""
    return config if config.min_steps or kind.min_steps is None else replace(config, min_steps=kind.min_steps)


def positive_label(task: TaskType, classes: list[str], train_labels: list[str], source: str) -> str | None:
    """The class the threshold and positive-class metrics are about: "spam" if present, else the
    rarer class in train."""
    if not task.binary:
        return None
    if len(classes) != 2:
        raise DataError(f"{source}: the spam task is binary but the labels are {classes}. Map them to two "
                        f"classes (e.g. ham/spam) or use task='sentiment' for multi-class data.")
    if "spam" in classes:
        return "spam"
    counts = {c: train_labels.count(c) for c in classes}
    return min(classes, key=lambda c: (counts[c], c))


def class_weights(task: TaskType, label_ids: list[int], n_classes: int, mode: str):
    """Balanced weights n / (C * count_c) as a float tensor, or None. "auto" turns them on for binary tasks whose
    minority class is under 25% of train."""
    counts = np.bincount(label_ids, minlength=n_classes).astype(float)
    if mode == "off":
        return None
    if mode == "auto" and not (task.binary and counts.min() / counts.sum() < MINORITY_SHARE_FOR_WEIGHTS):
        return None
    import torch  # here, not at the top: the classic baselines use this module without torch

    return torch.tensor(counts.sum() / (n_classes * np.maximum(counts, 1)), dtype=torch.float32)


def tune_threshold(positive_scores: np.ndarray, is_positive: np.ndarray, target_precision: float | None = None, *,
                   resamples: int = 200, seed: int = 0) -> float:
    """Threshold on the positive-class probability; a text is positive when its score >= it.

    With ``target_precision``: the lowest threshold whose validation precision reaches it.
    Otherwise the best-F1 threshold is used only when it beats the default 0.5 out of sample:
    on ``resamples`` bootstrap resamples of validation, the best-F1 threshold of each resample is
    scored against 0.5 on the examples that resample left out. If it does not win on average,
    0.5 stays (a threshold tuned on a few dozen positives often scores lower on test than 0.5);
    if it does, the median of the resamples' thresholds is used (less noisy than one fit).
    """
    scores, truth = np.asarray(positive_scores, dtype=float), np.asarray(is_positive, dtype=bool)
    if truth.all() or not truth.any():
        warnings.warn("validation data has only one class; keeping the decision threshold at 0.5", stacklevel=2)
        return 0.5
    if target_precision is not None:
        chosen = _threshold_for_precision(scores, truth, target_precision)
        if chosen is not None:
            return chosen
    # candidates: halfway between consecutive distinct scores (a recomputed score 1e-8 away cannot
    # flip sides), and the default itself
    distinct = np.unique(scores)
    candidates = np.unique(np.concatenate([(distinct[:-1] + distinct[1:]) / 2, [0.5]]))
    decisions = scores[None, :] >= candidates[:, None]  # (candidates, examples)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(len(scores), np.full(len(scores), 1 / len(scores)), size=resamples).T  # (n, B)
    f1 = _f1(decisions, truth, counts)  # (candidates, B), in-bag
    best = candidates[f1.argmax(0)]
    out_of_bag = (counts == 0).astype(float)
    default = np.flatnonzero(candidates == 0.5)[0]
    oob_f1 = _f1(decisions, truth, out_of_bag)  # (candidates, B)
    gains = oob_f1[f1.argmax(0), np.arange(resamples)] - oob_f1[default]
    if gains.mean() <= 0:
        return 0.5
    return float(np.median(best))


def _f1(decisions: np.ndarray, truth: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """F1 of every candidate's decisions (candidates, n) under example weights (n, B)."""
    tp = (decisions & truth) @ weights
    predicted = decisions @ weights
    actual = truth.astype(float) @ weights
    return 2 * tp / np.maximum(predicted + actual, 1e-12)


def _threshold_for_precision(scores, truth, target) -> float | None:
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(truth, scores)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    ok = np.flatnonzero(precision >= target)
    if not ok.size:
        warnings.warn(f"no threshold reaches precision {target} on validation (best {precision.max():.3f}); "
                      f"choosing the threshold for F1 instead", stacklevel=3)
        return None
    chosen = thresholds[ok[np.argmax(recall[ok])]]
    below = scores[scores < chosen]  # halfway down to the next lower score, not on a score itself
    return float((chosen + below.max()) / 2 if below.size else chosen)


def selection_score(task: TaskType, proba: np.ndarray, labels, positive_index: int | None) -> float:
    """Validation score of a classification task for early stopping (higher is better): PR-AUC for
    binary tasks (threshold-free), else macro F1; ``proba`` is one row per text."""
    from sklearn.metrics import average_precision_score, f1_score

    if task.selection_metric == "pr_auc":
        return float(average_precision_score(np.asarray(labels) == positive_index, proba[:, positive_index]))
    return float(f1_score(labels, proba.argmax(-1), average="macro", zero_division=0))


def text_probabilities(task: TaskType, proba: np.ndarray, groups: list[int] | None,
                       positive_index: int | None) -> np.ndarray:
    """One probability row per text from one per row: rows of one text (its windows, given by
    ``groups``) are pooled as ``task.chunk_pooling`` says; without groups, unchanged."""
    if groups is None:
        return proba
    groups = np.asarray(groups)
    n = groups.max() + 1
    if task.chunk_pooling == "max" and positive_index is not None:
        positive = np.full(n, -np.inf)
        np.maximum.at(positive, groups, proba[:, positive_index])
        out = np.empty((n, proba.shape[1]))
        out[:, positive_index], out[:, 1 - positive_index] = positive, 1 - positive
        return out
    sums = np.zeros((n, proba.shape[1]))
    np.add.at(sums, groups, proba)
    return sums / np.bincount(groups, minlength=n)[:, None]


def decide(proba: np.ndarray, positive_index: int | None, threshold: float | None) -> np.ndarray:
    """Class indices: argmax, or for binary tasks ``p(positive) >= threshold``."""
    if positive_index is None or threshold is None:
        return proba.argmax(-1)
    other = 1 - positive_index
    return np.where(proba[:, positive_index] >= threshold, positive_index, other)

"""The one evaluation harness: every task, strategy, model and baseline is scored here.

Classification: accuracy, macro/micro/weighted and per-class P/R/F1, the confusion matrix,
calibration (ECE and reliability bins), for binary tasks the positive class's P/R/F1, PR-AUC, the
precision-recall curve and the operating threshold; bootstrap intervals for the headline numbers.
NER: strict IOB2 entity metrics per type (seqeval) with a bootstrap interval for F1.
"""
from __future__ import annotations

import numpy as np

from ..task_types import decide
from .bootstrap import classification_scorer, entity_scorer, interval, resample_counts
from .calibration import reliability
from .metrics import classification_metrics, entity_metrics, positive_class_metrics

__all__ = ["evaluate_classification", "evaluate_entities", "predicted_labels"]

CURVE_POINTS = 200


def predicted_labels(proba: np.ndarray, classes: list[str], positive: str | None, threshold: float | None) -> list[str]:
    pos = classes.index(positive) if positive is not None else None
    return [classes[i] for i in decide(proba, pos, threshold)]


def _pr_curve(is_positive: np.ndarray, scores: np.ndarray) -> dict:
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(is_positive, scores)
    keep = np.unique(np.linspace(0, len(thresholds) - 1, min(CURVE_POINTS, len(thresholds))).astype(int))
    return {"precision": precision[keep].round(5).tolist(), "recall": recall[keep].round(5).tolist(),
            "thresholds": thresholds[keep].round(6).tolist()}


def evaluate_classification(true_labels: list[str], proba: np.ndarray, classes: list[str], positive: str | None,
                            threshold: float | None, *, seed: int = 0) -> dict:
    """Every classification number from the true labels and the predicted probabilities."""
    from sklearn.metrics import precision_recall_fscore_support

    predicted = predicted_labels(proba, classes, positive, threshold)
    metrics = classification_metrics(true_labels, predicted, classes)
    for average in ("micro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(true_labels, predicted, labels=classes, average=average,
                                                     zero_division=0)
        metrics.update({f"{average}_precision": float(p), f"{average}_recall": float(r), f"{average}_f1": float(f)})
    index = {c: i for i, c in enumerate(classes)}
    true_i, pred_i = np.array([index[y] for y in true_labels]), np.array([index[y] for y in predicted])
    calibration = reliability(proba, true_i)
    metrics["ece"], metrics["reliability"] = calibration["ece"], calibration["bins"]
    names = ["accuracy", "macro_f1"]
    pos = index.get(positive) if positive is not None else None
    if positive is not None:
        metrics.update(positive_class_metrics(true_labels, predicted, proba[:, pos], positive))
        metrics["threshold"] = threshold
        if threshold is not None and threshold != 0.5:  # the default's F1 beside the tuned one's
            at_default = predicted_labels(proba, classes, positive, 0.5)
            metrics["positive_f1_at_0.5"] = positive_class_metrics(true_labels, at_default, proba[:, pos],
                                                                   positive)["positive_f1"]
        if (true_i == pos).any():
            metrics["pr_curve"] = _pr_curve(true_i == pos, proba[:, pos])
        names.append("positive_f1")
    counts = resample_counts(len(true_i), seed=seed)
    metrics["ci95"] = {m: list(interval(classification_scorer(true_i, pred_i, len(classes), m, pos).score(counts)))
                       for m in names}
    return metrics


def evaluate_entities(true_tags: list[list[str]], pred_tags: list[list[str]], *, seed: int = 0) -> dict:
    """Strict IOB2 entity metrics (seqeval) and a bootstrap interval of micro F1 over sentences."""
    metrics = entity_metrics(true_tags, pred_tags)
    counts = resample_counts(len(true_tags), seed=seed)
    metrics["ci95"] = {"f1": list(interval(entity_scorer(true_tags, pred_tags).score(counts)))}
    return metrics

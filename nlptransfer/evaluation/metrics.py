"""Classification metrics as pure functions (scikit-learn underneath).

Multi-class metrics are macro-averaged and reported per class; nothing defaults to binary
averaging (simpletransformers #1033, setfit #128).
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, average_precision_score, confusion_matrix, precision_recall_fscore_support

__all__ = ["classification_metrics", "positive_class_metrics", "entity_metrics"]


def classification_metrics(y_true: list[str], y_pred: list[str], classes: list[str]) -> dict:
    """accuracy, macro precision/recall/F1, per-class P/R/F1/support and the confusion matrix
    (rows: true label, columns: predicted, both in ``classes`` order)."""
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_precision": float(np.mean(p)),
        "macro_recall": float(np.mean(r)),
        "macro_f1": float(np.mean(f)),
        "per_class": {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                      for i, c in enumerate(classes)},
        "confusion_matrix": {"labels": list(classes),
                             "matrix": confusion_matrix(y_true, y_pred, labels=classes).tolist()},
    }


def positive_class_metrics(y_true: list[str], y_pred: list[str], positive_scores, positive: str) -> dict:
    """Precision, recall and F1 of the positive class (spam) and PR-AUC (average precision) of
    its scores: the numbers that matter for an imbalanced binary task."""
    is_pos = np.asarray(y_true) == positive
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=[positive], zero_division=0)
    ap = float(average_precision_score(is_pos, positive_scores)) if is_pos.any() else float("nan")
    return {"positive_label": positive, "positive_precision": float(p[0]), "positive_recall": float(r[0]),
            "positive_f1": float(f[0]), "pr_auc": ap}


def entity_metrics(true_tags: list[list[str]], pred_tags: list[list[str]]) -> dict:
    """Entity-level precision/recall/F1 with seqeval in strict IOB2 mode (an entity counts only if
    its type and both boundaries match): micro, macro, per type, plus word-level tag accuracy.

    Scores word-level tags (first sub-token predictions), so sub-tokens never count as entities.
    """
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    report = classification_report(true_tags, pred_tags, mode="strict", scheme=IOB2, output_dict=True,
                                   zero_division=0)
    pairs = [(t, p) for ts, ps in zip(true_tags, pred_tags) for t, p in zip(ts, ps)]
    micro, macro = report.pop("micro avg"), report.pop("macro avg")
    report.pop("weighted avg", None)
    return {
        "n": len(true_tags),
        "precision": float(micro["precision"]), "recall": float(micro["recall"]), "f1": float(micro["f1-score"]),
        # the same numbers under the names classification reports use (f1 stays the primary key)
        "micro_precision": float(micro["precision"]), "micro_recall": float(micro["recall"]),
        "micro_f1": float(micro["f1-score"]),
        "macro_precision": float(macro["precision"]), "macro_recall": float(macro["recall"]),
        "macro_f1": float(macro["f1-score"]),
        "token_accuracy": sum(t == p for t, p in pairs) / max(len(pairs), 1),
        "per_class": {kind: {"precision": float(m["precision"]), "recall": float(m["recall"]),
                             "f1": float(m["f1-score"]), "support": int(m["support"])}
                      for kind, m in sorted(report.items())},
    }

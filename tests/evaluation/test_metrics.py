"""Metrics pinned to scikit-learn and seqeval."""
import json

import pytest
from sklearn.metrics import f1_score

from nlptransfer.evaluation.metrics import classification_metrics, entity_metrics, positive_class_metrics


def test_metrics_match_sklearn():
    y_true = ["a", "b", "c", "a", "b", "c", "a"]
    y_pred = ["a", "b", "a", "a", "c", "c", "b"]
    m = classification_metrics(y_true, y_pred, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(4 / 7)
    assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert m["per_class"]["a"]["support"] == 3
    assert m["confusion_matrix"]["matrix"] == [[2, 1, 0], [0, 1, 1], [1, 0, 1]]
    p = positive_class_metrics(["ham", "spam", "spam"], ["ham", "spam", "ham"], [0.1, 0.9, 0.4], "spam")
    assert (p["positive_precision"], p["positive_recall"], p["pr_auc"]) == (1.0, 0.5, 1.0)


def test_entity_metrics_pinned_to_seqeval(assets):
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    rows = [json.loads(line) for line in open(assets / "ner_predictions.jsonl")]
    gold, pred = [r["gold"] for r in rows], [r["pred"] for r in rows]
    ours = entity_metrics(gold, pred)
    theirs = classification_report(gold, pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    assert ours["f1"] == pytest.approx(theirs["micro avg"]["f1-score"])
    assert ours["macro_f1"] == pytest.approx(theirs["macro avg"]["f1-score"])
    for kind in ("LOC", "ORG", "PER"):
        assert ours["per_class"][kind]["f1"] == pytest.approx(theirs[kind]["f1-score"])
    # pinned: strict IOB2 gives no credit to entities whose B- was predicted as I-
    assert (ours["precision"], ours["recall"], ours["f1"]) == pytest.approx((11 / 12, 0.55, 0.6875))
    assert ours["per_class"]["ORG"] == {"precision": 0.75, "recall": 0.75, "f1": 0.75, "support": 4}


def test_entity_metrics_use_the_micro_names_of_classification(assets):
    rows = [json.loads(line) for line in open(assets / "ner_predictions.jsonl")]
    m = entity_metrics([r["gold"] for r in rows], [r["pred"] for r in rows])
    assert (m["micro_precision"], m["micro_recall"], m["micro_f1"]) == (m["precision"], m["recall"], m["f1"])
    assert m["micro_f1"] == pytest.approx(0.6875)

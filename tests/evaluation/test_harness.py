"""The evaluation harness: bootstrap metrics against scikit-learn and seqeval, intervals,
verdicts on cases built to show gain / no gain / negative transfer, calibration, baselines."""
import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from nlptransfer.evaluation.bootstrap import classification_scorer, entity_scorer, paired_gain, resample_counts, verdict
from nlptransfer.evaluation.calibration import apply_temperature, fit_temperature, reliability
from nlptransfer.evaluation.harness import evaluate_classification, evaluate_entities


@pytest.mark.parametrize("k", [2, 3])
def test_scorers_match_sklearn(k):
    rng = np.random.default_rng(k)
    y, p = rng.integers(0, k, 300), rng.integers(0, k, 300)
    p[:150] = y[:150]  # better than chance
    assert classification_scorer(y, p, k, "accuracy").score() == pytest.approx(accuracy_score(y, p))
    assert classification_scorer(y, p, k, "macro_f1").score() == pytest.approx(f1_score(y, p, average="macro"))
    assert classification_scorer(y, p, k, "positive_f1", 1).score() == pytest.approx(
        f1_score(y, p, labels=[1], average="macro"))
    # a resample that draws every example once is the test set itself
    assert classification_scorer(y, p, k, "macro_f1").score(np.ones((1, 300)))[0] == pytest.approx(
        f1_score(y, p, average="macro"))


def test_entity_scorer_matches_seqeval_strict(assets):
    rows = [json.loads(line) for line in open(assets / "ner_predictions.jsonl")]
    gold, pred = [r["gold"] for r in rows], [r["pred"] for r in rows]
    assert entity_scorer(gold, pred).score() == pytest.approx(0.6875)  # seqeval strict IOB2, pinned
    m = evaluate_entities(gold, pred)
    assert m["f1"] == pytest.approx(0.6875) and m["ci95"]["f1"][0] <= 0.6875 <= m["ci95"]["f1"][1]


def test_interval_contains_the_estimate_and_narrows_with_more_data():
    rng = np.random.default_rng(0)

    def width(n):
        y = rng.integers(0, 2, n)
        p = np.where(rng.random(n) < 0.8, y, 1 - y)
        s = classification_scorer(y, p, 2, "accuracy")
        low, high = np.percentile(s.score(resample_counts(n)), [2.5, 97.5])
        assert low <= s.score() <= high
        return high - low

    assert width(2000) < width(100) / 3


def _system(y, accuracy, seed):
    rng = np.random.default_rng(seed)
    p = np.where(rng.random(len(y)) < accuracy, y, 1 - y)
    return classification_scorer(y, p, 2, "accuracy")


@pytest.mark.parametrize("mine,theirs,expected", [(0.95, 0.70, "helped"), (0.80, 0.80, "no clear gain"),
                                                  (0.60, 0.90, "negative transfer")])
def test_verdicts(mine, theirs, expected):
    y = np.random.default_rng(1).integers(0, 2, 500)
    a = [_system(y, mine, s) for s in range(3)]
    b = [_system(y, theirs, 10 + s) for s in range(3)]
    gain = paired_gain(a, b, resample_counts(len(y)))
    assert gain["ci_low"] <= gain["gain"] <= gain["ci_high"]
    assert gain["seed_std"] > 0  # three seeds, three different systems
    assert verdict(gain) == expected
    # against the classic baseline, losing is not "negative transfer" (that is losing to scratch)
    assert verdict(gain, "classic") == ("below the classic baseline" if expected == "negative transfer" else expected)


def test_reliability_and_temperature_scaling():
    rng = np.random.default_rng(0)
    n = 4000
    true = rng.integers(0, 2, n)
    margin = rng.normal(1.0, 1.0, n)  # the evidence for the right class
    logits = np.stack([np.where(true == 0, margin, -margin), np.where(true == 1, margin, -margin)], 1)
    calibrated = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    overconfident = np.exp(4 * logits) / np.exp(4 * logits).sum(1, keepdims=True)
    assert reliability(calibrated, true)["ece"] < 0.03
    before = reliability(overconfident, true)
    assert before["ece"] > 0.1 and sum(b["count"] for b in before["bins"]) == n
    t = fit_temperature(overconfident, true)
    assert t == pytest.approx(4.0, rel=0.1)  # undoes the factor that made it overconfident
    fixed = apply_temperature(overconfident, t)
    assert reliability(fixed, true)["ece"] < 0.03
    assert (fixed.argmax(1) == overconfident.argmax(1)).all()  # decisions unchanged


def test_classification_report_has_every_number():
    rng = np.random.default_rng(0)
    classes = ["ham", "spam"]
    true = [classes[i] for i in rng.integers(0, 2, 200)]
    proba = np.clip(np.array([[0.8, 0.2] if y == "ham" else [0.3, 0.7] for y in true]) + rng.normal(0, .2, (200, 2)),
                    0.01, None)
    proba /= proba.sum(1, keepdims=True)
    m = evaluate_classification(true, proba, classes, "spam", 0.5)
    for key in ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "per_class", "confusion_matrix", "ece",
                "reliability", "positive_f1", "pr_auc", "threshold", "pr_curve", "ci95"):
        assert key in m, key
    predicted = ["spam" if p >= 0.5 else "ham" for p in proba[:, 1]]
    assert m["weighted_f1"] == pytest.approx(f1_score(true, predicted, average="weighted"))
    assert m["ci95"]["accuracy"][0] <= m["accuracy"] <= m["ci95"]["accuracy"][1]



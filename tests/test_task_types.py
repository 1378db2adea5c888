"""The task-type rules: class weights and the spam threshold."""
import numpy as np
import torch
from sklearn.metrics import f1_score

from nlptransfer.task_types import TASK_TYPES as CLASSIFICATION_TASKS
from nlptransfer.task_types import class_weights, decide, tune_threshold


def test_class_weights_auto_only_for_imbalanced_binary():
    spam, sentiment = CLASSIFICATION_TASKS["spam"], CLASSIFICATION_TASKS["sentiment"]
    imbalanced, balanced = [0] * 90 + [1] * 10, [0] * 50 + [1] * 50
    w = class_weights(spam, imbalanced, 2, "auto")
    torch.testing.assert_close(w, torch.tensor([100 / 180, 100 / 20]))
    assert class_weights(spam, balanced, 2, "auto") is None
    assert class_weights(sentiment, imbalanced, 2, "auto") is None
    assert class_weights(sentiment, balanced, 2, "on") is not None
    assert class_weights(spam, imbalanced, 2, "off") is None


def test_threshold_best_f1_and_target_precision():
    scores = np.array([0.1, 0.2, 0.35, 0.4, 0.6, 0.7, 0.8, 0.9])
    truth = np.array([0, 0, 1, 0, 1, 0, 1, 1], dtype=bool)
    best = tune_threshold(scores, truth)
    f1_at = lambda t: f1_score(truth, scores >= t)  # noqa: E731
    assert f1_at(best) == max(f1_at(t) for t in scores)
    strict = tune_threshold(scores, truth, target_precision=1.0)
    assert strict == 0.75 and (truth[scores >= strict]).all()  # halfway between 0.7 and 0.8: no score on it
    assert not np.isin(best, scores)
    proba = np.stack([1 - scores, scores], 1)
    assert decide(proba, 1, 0.8).tolist() == [0, 0, 0, 0, 0, 0, 1, 1]

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


def test_threshold_target_precision_keeps_off_scores():
    scores = np.array([0.1, 0.2, 0.35, 0.4, 0.6, 0.7, 0.8, 0.9])
    truth = np.array([0, 0, 1, 0, 1, 0, 1, 1], dtype=bool)
    strict = tune_threshold(scores, truth, target_precision=1.0)
    assert strict == 0.75 and (truth[scores >= strict]).all()  # halfway between 0.7 and 0.8: no score on it
    proba = np.stack([1 - scores, scores], 1)
    assert decide(proba, 1, 0.8).tolist() == [0, 0, 0, 0, 0, 0, 1, 1]


def _scores(n, shift, seed):
    """A classifier whose positives score around ``shift`` higher than its negatives; 15% positive."""
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.15
    return np.clip(rng.normal(0.1 + shift * truth, 0.08), 0, 1), truth


def test_threshold_is_tuned_only_when_it_beats_the_default_out_of_sample():
    # positives score about 0.3: 0.5 misses most of them, a threshold near 0.2 catches them
    scores, truth = _scores(400, 0.2, seed=1)
    tuned = tune_threshold(scores, truth)
    assert 0.1 < tuned < 0.35 and not np.isin(tuned, scores)
    test_scores, test_truth = _scores(4000, 0.2, seed=2)  # and it holds on fresh data
    assert f1_score(test_truth, test_scores >= tuned) > f1_score(test_truth, test_scores >= 0.5) + 0.2
    # a well separated classifier on a small validation set: the best-F1 threshold is noise, 0.5 stays
    scores, truth = _scores(60, 0.8, seed=3)
    assert tune_threshold(scores, truth) == 0.5
    # the same validation data, the same threshold: the resampling is seeded
    assert tune_threshold(*_scores(400, 0.2, seed=1)) == tuned


def test_training_for_fills_the_task_types_step_minimum_unless_the_user_set_one():
    from dataclasses import replace

    from nlptransfer import TrainConfig
    from nlptransfer.task_types import training_for

    ner, sentiment = CLASSIFICATION_TASKS["ner"], CLASSIFICATION_TASKS["sentiment"]
    config = TrainConfig(batch_size=8)
    assert training_for(ner, config) == replace(config, min_steps=1000)
    assert training_for(ner, TrainConfig(min_steps=300)).min_steps == 300  # the user's choice stands
    assert training_for(sentiment, config) is config  # classification keeps the general rule (500)
    assert config.min_steps is None  # the caller's config is not changed

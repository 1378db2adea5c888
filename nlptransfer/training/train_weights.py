"""Train a task model's weights the way its strategy says: batches through the backbone (full,
LoRA, scratch); for a strategy that caches features (frozen), the backbone once per example and
then only the head on the cached features; for contrastive, first the backbone on text pairs,
then the head as for frozen. Classification and NER both come through here."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..data.batching import FeatureDataset
from ..data.pairs import PairDataset, default_pair_budget, pair_collator, sample_pairs
from ..models.pair_encoder import PairEncoder
from ..strategies import default_learning_rate, strategy
from .losses import SummedSquaredError
from .loop import TrainResult, train_model

# The sklearn head's regularisation, chosen on validation. Unit-length features need larger C than
# raw ones (on the SMS sample the best was C=30).
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
HEAD_ON_FEATURES_LR = 1e-2  # a linear head on fixed features tolerates (and needs) a large step

__all__ = ["train_weights"]


def train_weights(net, strategy_name: str, train_set, validation_set, collate, *, config, accelerator, loss_fn,
                  score_fn: Callable, score_name: str, extract: Callable, run_dir: Path | None = None,
                  identity: dict | None = None, balanced: bool = False) -> TrainResult:
    """Train ``net`` in place and return the loop's result.

    ``score_fn(logits, labels)`` scores validation (higher is better); its logits are the model's
    outputs over ``validation_set`` or, for a caching strategy, over its extracted feature rows.
    ``extract(net, dataset, collate, accelerator, batch_size)`` computes the feature rows; each
    dataset's ``feature_labels`` are their labels. ``balanced``: the sklearn head weighs classes.
    ``loss_fn``, ``score_name``, ``run_dir`` and ``identity`` are the loop's (``train_model``).
    """
    plan = strategy(strategy_name)
    lr = default_learning_rate(strategy_name, config)
    if not (plan.caches_features or plan.trains_on_pairs):
        if config.head_init == "probe" and plan.pretrained:
            _probe_head(net, train_set, validation_set, collate, config, accelerator, score_fn, score_name, extract,
                        balanced)
        return train_model(net, train_set, collate, config=config, learning_rate=lr, accelerator=accelerator,
                           loss_fn=loss_fn, validation_set=validation_set, score_fn=score_fn, score_name=score_name,
                           run_dir=run_dir, identity=identity, gradual=plan.gradual)
    started = time.perf_counter()
    if plan.trains_on_pairs:  # first the backbone, as a sentence encoder on pairs; then the head, as frozen
        _train_on_pairs(net, train_set, collate, config, lr, accelerator, run_dir, identity)
        lr = config.head_learning_rate or HEAD_ON_FEATURES_LR
    train_x, val_x = _features(net, train_set, validation_set, collate, config, accelerator, extract)
    feature_seconds = time.perf_counter() - started
    if (config.head or plan.head) == "sklearn":
        result = _fit_sklearn_head(net, train_x, val_x, train_set, validation_set, score_fn, score_name, balanced,
                                   config.seed)
        result.feature_seconds = feature_seconds
        return result
    validation = FeatureDataset(val_x, validation_set.feature_labels) if val_x is not None else None
    result = train_model(net, FeatureDataset(train_x, train_set.feature_labels), None, config=config,
                         learning_rate=lr, accelerator=accelerator, loss_fn=loss_fn, validation_set=validation,
                         score_fn=score_fn, score_name=score_name, description="head", run_dir=run_dir,
                         identity=identity)
    result.feature_seconds = feature_seconds
    return result


def _probe_head(net, train_set, validation_set, collate, config, accelerator, score_fn, score_name, extract,
                balanced) -> None:
    """LP-FT (Kumar et al. 2022): start fine-tuning from a head fitted on the pretrained features
    (the frozen strategy's LogisticRegression), not a random one, so the first steps' large
    gradients from a wrong head do not distort the features the head is about to use."""
    train_x, val_x = _features(net, train_set, validation_set, collate, config, accelerator, extract)
    probe = _fit_sklearn_head(net, train_x, val_x, train_set, validation_set, score_fn, score_name, balanced,
                              config.seed)
    accelerator.print(f"head_init=probe: the head starts as {probe.history[0]['head']}"
                      + (f", validation {score_name}={probe.best_score:.4f}" if probe.best_score is not None else ""))


def _train_on_pairs(net, train_set, collate, config, lr, accelerator, run_dir, identity) -> TrainResult:
    """SetFit's first phase through our loop: cosine similarity of pooled embeddings regressed to 1
    for same-label pairs and 0 for others, one pass over a bounded pair budget."""
    budget = config.contrastive_pairs or default_pair_budget(len(train_set))
    pairs = PairDataset(train_set, sample_pairs(train_set.labels, budget, config.seed, block=config.batch_size))
    accelerator.print(f"contrastive: {budget} pairs of {len(train_set)} labelled texts, 1 pass")
    encoder = PairEncoder(net.backbone, net.pooling, net.layer_spec)
    phase = dataclasses.replace(config, epochs=1, early_stopping_patience=None, group_by_length=False)
    return train_model(encoder, pairs, pair_collator(train_set, collate), config=phase, learning_rate=lr,
                       accelerator=accelerator, loss_fn=SummedSquaredError(), description="pairs", run_dir=run_dir,
                       identity=identity)


def _features(net, train_set, validation_set, collate, config, accelerator, extract):
    """The feature rows of train and (when given) validation, as the caching strategies read them."""
    net.to(accelerator.device)
    rows = lambda dataset: extract(net, dataset, collate, accelerator, config.eval_batch_size)  # noqa: E731
    return rows(train_set), rows(validation_set) if validation_set else None


def _fit_sklearn_head(net, features: torch.Tensor, val_x, train_set, validation_set, score_fn, score_name,
                      balanced: bool, seed: int) -> TrainResult:
    """scikit-learn's LogisticRegression, copied into the same linear head the model predicts with;
    its regularisation chosen on validation by the task's selection score (C=1 without one)."""
    from sklearn.linear_model import LogisticRegression

    labels, val_labels = train_set.feature_labels, validation_set.labels if validation_set else None

    def fit(c: float):
        return LogisticRegression(C=c, max_iter=3000, class_weight="balanced" if balanced else None,
                                  random_state=seed).fit(features.numpy(), np.asarray(labels))

    def logits(model, x):  # log-probabilities in the head's class order: softmax gives them back
        full = np.full((len(x), net.classifier_head.out_features), -1e4)
        full[:, model.classes_] = model.predict_log_proba(x.numpy())
        return torch.as_tensor(full, dtype=torch.float32)

    candidates = [(c, fit(c)) for c in (C_GRID if val_x is not None else (1.0,))]
    scored = [(score_fn(logits(m, val_x), val_labels) if val_x is not None else None, c, m) for c, m in candidates]
    score, c, model = max(scored, key=lambda t: (t[0] if t[0] is not None else 0.0, -abs(np.log(t[1]))))
    coef, bias = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary: softmax([0, z]) == sigmoid(z)
        coef, bias = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], bias])
    head = net.classifier_head
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(-1e4)  # a class LogisticRegression never saw stays impossible
        rows = torch.as_tensor(model.classes_)
        head.weight[rows] = torch.as_tensor(coef, dtype=head.weight.dtype)
        head.bias[rows] = torch.as_tensor(bias, dtype=head.bias.dtype)
    row = {"epoch": 1, "head": f"LogisticRegression(C={c:g})"}
    if score is not None:
        row.update(validation_score=float(score), validation_metric=score_name)
    return TrainResult(history=[row], best_epoch=1, best_score=score,
                       best_logits=logits(model, val_x) if val_x is not None else None)

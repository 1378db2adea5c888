"""Train a task model's weights the way its strategy says: batches through the backbone (full,
LoRA, scratch), or, for a strategy that caches features (frozen), the backbone once per example
and then only the head on the cached features. Classification and NER both come through here."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..data.batching import FeatureDataset
from ..strategies import default_learning_rate, strategy
from .loop import TrainResult, train_model

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
    lr = default_learning_rate(strategy_name, config)
    if not strategy(strategy_name).caches_features:
        return train_model(net, train_set, collate, config=config, learning_rate=lr, accelerator=accelerator,
                           loss_fn=loss_fn, validation_set=validation_set, score_fn=score_fn, score_name=score_name,
                           run_dir=run_dir, identity=identity)
    started = time.perf_counter()
    net.to(accelerator.device)
    train_x = extract(net, train_set, collate, accelerator, config.eval_batch_size)
    val_x = extract(net, validation_set, collate, accelerator, config.eval_batch_size) if validation_set else None
    feature_seconds = time.perf_counter() - started
    if config.head == "sklearn":
        _fit_sklearn_head(net, train_x, train_set.feature_labels, balanced, config.seed)
        return TrainResult(feature_seconds=feature_seconds)
    validation = FeatureDataset(val_x, validation_set.feature_labels) if val_x is not None else None
    result = train_model(net, FeatureDataset(train_x, train_set.feature_labels), None, config=config,
                         learning_rate=lr, accelerator=accelerator, loss_fn=loss_fn, validation_set=validation,
                         score_fn=score_fn, score_name=score_name, description="head", run_dir=run_dir,
                         identity=identity)
    result.feature_seconds = feature_seconds
    return result


def _fit_sklearn_head(net, features: torch.Tensor, labels, balanced: bool, seed: int) -> None:
    """scikit-learn's LogisticRegression, copied into the same linear head the model predicts with."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(max_iter=2000, class_weight="balanced" if balanced else None, random_state=seed)
    lr.fit(features.numpy(), np.asarray(labels))
    coef, bias = lr.coef_, lr.intercept_
    if coef.shape[0] == 1:  # binary: softmax([0, z]) == sigmoid(z)
        coef, bias = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], bias])
    head = net.classifier_head
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(-1e4)  # a class LogisticRegression never saw stays impossible
        rows = torch.as_tensor(lr.classes_)
        head.weight[rows] = torch.as_tensor(coef, dtype=head.weight.dtype)
        head.bias[rows] = torch.as_tensor(bias, dtype=head.bias.dtype)

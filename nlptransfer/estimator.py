"""Steps every estimator (TextClassifier, EntityTagger) shares, as plain functions.

Building the model, training a frozen head on cached features, writing run records, saving and
loading. Composition, not a base class: each estimator reads top to bottom and calls these.
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .architectures import Architecture
from .batching import FeatureDataset
from .checkpoints import load_backbone, load_tokenizer, model_architecture
from .config import RunConfig, TrainConfig, config_to_dict, load_run_config
from .modeling import TaskModel
from .persistence import load_model_folder, save_model_folder
from .reports import atomic_write_text, write_metrics
from .strategies import ParameterCount, apply_strategy, count_parameters, default_learning_rate
from .tracking import METRICS_LOG, start_trackers
from .training import TrainResult, make_accelerator, process_state, train_model

__all__ = ["Built", "build", "merge_adapter", "start_run", "train_frozen_head", "write_run_records", "save_estimator",
           "load_estimator", "predict_accelerator", "record_metrics"]


@dataclass
class Built:
    net: TaskModel
    tokenizer: object
    model_type: str
    arch: Architecture
    parameters: ParameterCount


def start_run(run: RunConfig, default_name: str):
    """Seed, pick the run folder, make the Accelerator and start its trackers."""
    from accelerate.utils import set_seed

    if not run.output_dir:
        run.output_dir = f"runs/{default_name}-{run.strategy}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = Path(run.output_dir)
    # A seed per process (seed + rank): dropout differs across processes as it would across the
    # examples of one big batch. Initial weights still agree: DDP copies rank 0's to the others.
    accelerator = make_accelerator(run.training, run_dir)
    set_seed(run.training.seed + accelerator.process_index)
    start_trackers(accelerator, run_dir, config_to_dict(run))
    return accelerator, run_dir


def build(model: str, num_labels: int, strategy: str, cfg: TrainConfig, *, pooling: str | None = None) -> Built:
    """Tokenizer + backbone + head, with the strategy applied. ``pooling`` overrides the table
    (``"none"`` for token classification)."""
    model_type, arch = model_architecture(model)
    tokenizer = load_tokenizer(model, arch)
    backbone = load_backbone(model, arch, tokenizer.pad_token_id, pretrained=strategy != "scratch")
    if cfg.gradient_checkpointing and strategy != "frozen":
        # Non-reentrant: works with frozen inputs (LoRA) without enable_input_require_grads.
        backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    net = TaskModel(backbone, num_labels, pooling or cfg.pooling or arch.pooling, cfg.dropout)
    apply_strategy(net, strategy, arch, cfg)
    return Built(net, tokenizer, model_type, arch, count_parameters(net))


def train_frozen_head(net, train_x: torch.Tensor, train_y, val_x, val_y, *, cfg: TrainConfig, accelerator, loss_fn,
                      score_fn, balanced: bool, run_dir: Path | None = None) -> TrainResult:
    """Train only the head on cached features: gradient descent (``head="linear"``) or
    scikit-learn's LogisticRegression copied into the same linear head (``head="sklearn"``)."""
    if cfg.head == "sklearn":
        _fit_sklearn_head(net, train_x, train_y, balanced, cfg.seed)
        return TrainResult()
    validation = FeatureDataset(val_x, val_y) if val_x is not None else None
    return train_model(net, FeatureDataset(train_x, train_y), None, config=cfg,
                       learning_rate=default_learning_rate("frozen", cfg), accelerator=accelerator, loss_fn=loss_fn,
                       validation_set=validation, score_fn=score_fn, description="head", run_dir=run_dir)


def _fit_sklearn_head(net, features: torch.Tensor, labels, balanced: bool, seed: int) -> None:
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


def merge_adapter(net) -> None:
    """Fold a LoRA adapter into the backbone weights (for export); no-op without one."""
    if hasattr(net.backbone, "merge_and_unload"):
        net.backbone = net.backbone.merge_and_unload()


def write_run_records(run_dir: Path, run: RunConfig, history: list[dict], accelerator) -> None:
    """The resolved config and per-epoch history; closes the trackers (training is over)."""
    for tracker in accelerator.trackers:  # not end_training(): that also ends the process group
        tracker.finish()
    if accelerator.is_main_process:
        import yaml

        atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(config_to_dict(run), sort_keys=False))
        atomic_write_text(run_dir / "history.json", json.dumps(history, indent=2))


def record_metrics(estimator, name: str, metrics: dict) -> dict:
    """Every report's envelope (task, strategy, model, split, parameter counts) around the task's
    metrics, written as metrics-NAME.json/.md to the run folder when there is one."""
    report = {"task": estimator.task, "strategy": estimator.strategy, "model": estimator.model, "split": name,
              **metrics, "trainable_params": estimator.parameters_.trainable,
              "total_params": estimator.parameters_.total}
    if estimator.run_dir_ is not None and predict_accelerator(estimator).is_main_process:
        write_metrics(report, estimator.run_dir_, name)
    return report


def predict_accelerator(estimator):
    """The Accelerator prediction runs on (made once, lazily: loaded models have none yet)."""
    if getattr(estimator, "_accel", None) is None:
        estimator._accel = make_accelerator(estimator.run_config_.training)
        estimator.model_.to(estimator._accel.device)
    return estimator._accel


def save_estimator(estimator, path, kind: str, extra_meta: dict) -> Path:
    """Save a fitted estimator's model, tokenizer, labels and run records to ``path``."""
    net = estimator.model_
    meta = {"kind": kind, "task": estimator.task, "strategy": estimator.strategy, "model": estimator.model,
            "model_type": estimator.model_type_, "classes": estimator.classes_, "pooling": net.pooling,
            "merged": estimator.strategy == "lora" and not hasattr(net.backbone, "peft_config"),
            "parameters": dataclasses.asdict(estimator.parameters_), **extra_meta}
    # The run's records travel with the model (when the run folder is the save folder, they stay).
    run_dir = estimator.run_dir_
    run_files = [*run_dir.glob("metrics-*"), run_dir / "history.json", run_dir / METRICS_LOG] if run_dir else []
    state = process_state()  # under several processes, the main one writes and the others wait
    if state.is_main_process:
        save_model_folder(path, net, estimator.tokenizer_, meta, config_to_dict(estimator.run_config_),
                          {p.name: p for p in run_files if p.exists()})
    state.wait_for_everyone()
    return Path(path)


def load_estimator(make, path):
    """``make(run_config, meta)`` builds the unfitted estimator; this fills in the fitted state
    saved in ``path``. Returns (estimator, meta)."""
    net, tokenizer, meta, config = load_model_folder(
        path, lambda backbone, meta: TaskModel(backbone, len(meta["classes"]), meta["pooling"]))
    run = load_run_config(None, (), **{k: v for k, v in config.items() if k != "output_dir"}, output_dir="")
    est = make(run, meta)
    est.model_, est.tokenizer_, est.classes_, est.run_config_ = net, tokenizer, meta["classes"], run
    est.model_type_, est.parameters_ = meta["model_type"], ParameterCount(**meta["parameters"])
    est.run_dir_, est.history_ = None, []
    return est, meta

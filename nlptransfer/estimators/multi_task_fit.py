"""Multi-task fitting as steps: read and check every task's splits, build one backbone with a head
per task, encode each task as it would be encoded alone, train through the one loop on batches
drawn task by task, then give each task its own calibration, threshold and validation report.

The result holds one ordinary ``Fitted`` per task whose network is a view of the shared model
(``MultiTaskNet.view``): scoring, prediction and export of a task are the single-task code.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..data.batching import text_collator
from ..data.splits import read_tagged_splits, read_text_splits
from ..data.task_sampling import MultiTaskDataset, task_probabilities
from ..data.word_windows import encode_tagged, sentence_logits, tag_collator
from ..layer_map import layer_map
from ..models.inference import run_batches
from ..models.multi_task_net import MultiTaskNet, build_multi_task_net
from ..multi_task_config import MultiTaskConfig, multi_task_config_to_dict
from ..strategies import ParameterCount, count_parameters, default_learning_rate, strategy
from ..task_types import task_type, training_for
from ..training.losses import PerTaskMean, SummedCrossEntropy
from ..training import epochs as rule
from ..training.loop import train_model
from ..training.run_folder import start_run, write_run_records
from .classification import calibrate, classification_loss, encode_labelled, score_texts, text_proba, validation_scorer
from .fitted import Fitted
from .tagging import entity_scorer, score_tagged

__all__ = ["MultiFitted", "read_task_splits", "fit_multi_task", "task_records"]


@dataclass(frozen=True)
class MultiFitted:
    """A fitted multi-task model: the shared network, and one single-task record per task."""

    config: MultiTaskConfig
    net: MultiTaskNet
    tokenizer: object
    model_type: str
    parameters: ParameterCount
    tasks: dict  # name -> Fitted (its net is a view of ``net``)
    history: list = field(default_factory=list)
    run_dir: Path | None = None
    train_seconds: float | None = None


def read_task_splits(config: MultiTaskConfig, data: dict | None = None) -> dict:
    """name -> the task's checked splits (``TextSplits`` or ``TaggedSplits``), read before any model
    loads. ``data``: name -> (train, validation) given in Python, else the task's file paths."""
    out = {}
    for name, run in config.tasks.items():
        train, validation = (data or {}).get(name, (run.train, run.validation))
        if train is None:
            from ..errors import ConfigError

            raise ConfigError(f"task {name!r} has no training data: give tasks.{name}.train.")
        read = read_text_splits if task_type(run.task).classification else read_tagged_splits
        out[name] = read(run, train, validation)
    return out


def _heads(config: MultiTaskConfig, splits: dict) -> dict:
    return {name: {"num_labels": len(s.classes) if task_type(run.task).classification else len(s.tags),
                   "pooling": None if task_type(run.task).classification else "none"}
            for (name, run), s in zip(config.tasks.items(), splits.values())}


def fit_multi_task(config: MultiTaskConfig, data: dict | None = None) -> MultiFitted:
    """Fit one backbone and a head per task as ``config`` says; writes each task's validation
    metrics to RUN/tasks/NAME/."""
    splits = read_task_splits(config, data)
    cfg = config.training
    shared_run = next(iter(config.tasks.values()))
    accelerator, run_dir = start_run(dataclasses.replace(shared_run, output_dir=config.output_dir), "multi-task",
                                     unused_parameters=True, config=multi_task_config_to_dict(config))
    config.output_dir = str(run_dir)
    built = build_multi_task_net(config.model, _heads(config, splits), config.strategy, cfg)
    accelerator.print(f"{config.strategy}: {built.parameters}")
    tokenizer = built.tokenizer
    encoded, collators, losses, scorers = {}, {}, {}, {}
    for name, run in config.tasks.items():
        task, s = task_type(run.task), splits[name]
        if task.classification:
            train = encode_labelled(tokenizer, s.train, s.classes, run.training, f"{name} train", accelerator.print)
            val = encode_labelled(tokenizer, s.validation, s.classes, run.training, f"{name} validation",
                                  accelerator.print)
            losses[name] = classification_loss(task, train, len(s.classes), run.training.class_weights)[0]
            positive = s.classes.index(s.positive) if s.positive is not None else None
            scorers[name] = validation_scorer(task, val, positive) if val is not None else None
            collators[name] = text_collator(tokenizer)
        else:
            train, val = encode_tagged(tokenizer, s.train, s.tags, run.training), \
                encode_tagged(tokenizer, s.validation, s.tags, run.training)
            losses[name] = SummedCrossEntropy()
            scorers[name] = entity_scorer(val, s.validation, s.tags) if val is not None else None
            collators[name] = tag_collator(tokenizer)
        encoded[name] = (train, val)
    sizes = {name: len(train) for name, (train, _) in encoded.items()}
    probabilities = task_probabilities(sizes, config.sampling, config.sampling_temperature)
    accelerator.print("sampling: " + ", ".join(f"{name} {sizes[name]} rows, p={p:.3f}"
                                                 for name, p in probabilities.items())
                      + f" ({config.sampling}" + (f", T={config.sampling_temperature:g})"
                                                   if config.sampling == "temperature" else ")"))
    dataset = MultiTaskDataset({name: train for name, (train, _) in encoded.items()}, collators, probabilities)
    if cfg.epochs is None:  # chosen from the data so that each task trains at least as long as it would alone
        batches = {name: math.ceil(n / cfg.batch_size) for name, n in sizes.items()}
        per_step = cfg.gradient_accumulation_steps * accelerator.num_processes
        gradual = strategy(config.strategy).gradual  # its block-by-block joining comes on top
        min_steps = {name: training_for(task_type(config.tasks[name].task), cfg).min_steps for name in sizes}
        epochs = rule.multi_task_epochs(batches, probabilities, per_step,
                                        layer_map(built.net).n_blocks if gradual else None, cfg.unfreeze_every,
                                        min_steps)
        patience = rule.multi_task_patience(cfg.early_stopping_patience, batches, probabilities, per_step)
        joining = ", then gradual's unfreezing on top" if gradual else ""
        stopping = (f"; early stopping after {patience} epochs without a better validation score (at least "
                    f"{rule.MIN_STALE_STEPS} steps of each task)") if patience else ""
        accelerator.print(f"multi-task: {epochs} epochs, chosen from the data (each task at least the optimizer "
                          f"steps it would get alone: "
                          + "; ".join(f"{name} {rule.describe(0, steps)}" for name, steps in min_steps.items())
                          + f"{joining}; epochs= sets them){stopping}")
        cfg = dataclasses.replace(cfg, epochs=epochs, early_stopping_patience=patience)
    scored = [name for name in config.tasks if scorers[name] is not None]

    def validate(model):
        """Each task's selection score on its validation split; their weighted mean selects the epoch."""
        net = accelerator.unwrap_model(model)
        net.eval()
        logits, scores = {}, {}
        for name in scored:
            val = encoded[name][1]
            logits[name] = run_batches(lambda b, name=name: net(name, **b), val, collators[name], accelerator,
                                       cfg.eval_batch_size)
            scores[name] = float(scorers[name](logits[name], val.labels))
        net.train()
        total = sum(config.weight(n) for n in scored)
        mean = sum(config.weight(n) * scores[n] for n in scored) / total if total else 0.0
        return mean, logits, {f"validation_{n}": round(v, 6) for n, v in scores.items()}

    started = time.perf_counter()
    result = train_model(built.net, dataset, dataset.collate, config=cfg,
                         learning_rate=default_learning_rate(config.strategy, cfg), accelerator=accelerator,
                         loss_fn=PerTaskMean(losses), score_name="mean_score", description="multi-task",
                         run_dir=run_dir, validate=validate if scored else None,
                         identity={"model": config.model, "strategy": config.strategy, "tasks": list(config.tasks)},
                         gradual=strategy(config.strategy).gradual)
    seconds = time.perf_counter() - started
    built.net.eval()
    write_run_records(run_dir, multi_task_config_to_dict(config), result.history, accelerator)
    fitted = MultiFitted(config=config, net=built.net, tokenizer=tokenizer, model_type=built.model_type,
                         parameters=built.parameters, tasks={}, history=result.history, run_dir=run_dir,
                         train_seconds=seconds)
    best = result.best_logits or {}
    for name, run in config.tasks.items():
        fitted.tasks[name] = _finish_task(fitted, name, splits[name], encoded[name][1], best.get(name), accelerator)
    return fitted


def task_records(fitted: MultiFitted, name: str, run_dir: Path | None) -> Fitted:
    """The single-task record of ``name`` (no threshold or temperature yet)."""
    run = fitted.config.tasks[name]
    view = fitted.net.view(name).eval()
    return Fitted(kind=task_type(run.task).estimator, run=dataclasses.replace(run, output_dir=""), net=view,
                  tokenizer=fitted.tokenizer, model_type=fitted.model_type, classes=[], parameters=count_parameters(view),
                  history=fitted.history, run_dir=run_dir, train_seconds=fitted.train_seconds)


def _finish_task(fitted: MultiFitted, name: str, s, val_set, logits, accelerator) -> Fitted:
    """The task's record with its own rules applied: for classification the temperature and the
    binary threshold fitted on its validation split; then its validation report."""
    run, task = fitted.config.tasks[name], task_type(fitted.config.tasks[name].task)
    folder = fitted.run_dir / "tasks" / name
    if accelerator.is_main_process:
        folder.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    record = dataclasses.replace(task_records(fitted, name, folder), classes=s.classes if task.classification else s.tags)
    if not task.classification:
        if s.validation is not None:
            score_tagged(record, s.validation, "validation",
                         sentence_logits(logits, val_set) if logits is not None else None)
        return record
    record = dataclasses.replace(record, positive_label=s.positive, train_texts=frozenset(s.train.texts))
    val_proba = None
    if s.validation is not None:
        positive = s.classes.index(s.positive) if s.positive is not None else None
        val_proba = text_proba(task, logits, val_set, positive) if logits is not None else None
        if val_proba is None:
            from .classification import predict_proba

            val_proba = predict_proba(record, s.validation.texts)
    temperature, threshold, val_proba = calibrate(run, s, val_proba)
    record = dataclasses.replace(record, temperature=temperature, threshold=threshold)
    if s.validation is not None:
        score_texts(record, s.validation, "validation", val_proba)
    return record

"""Text classification (sentiment, spam) as steps: read and check the splits, encode, choose the
loss, train, calibrate and threshold, predict, score. ``fit_classification`` runs them in order;
``tasks/classification.py`` runs the same steps in the same order, written out."""
from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np
import torch

from ..config import RunConfig
from ..data.batching import EncodedDataset, count_over_limit, encode_texts, text_collator
from ..data.splits import TextSplits, read_text_splits
from ..data.text_table import TextTable
from ..evaluation.calibration import apply_temperature, fit_temperature
from ..evaluation.extra_metrics import compute_extra_metrics
from ..evaluation.harness import evaluate_classification
from ..models.classic import TfidfClassifier, classic_parameters, is_classic
from ..models.inference import extract_features, on_device, predict_logits
from ..models.task_model import build_task_model
from ..task_types import (TaskType, class_weights, selection_score, task_type, text_probabilities, training_for,
                          tune_threshold, decide)
from ..strategies import ParameterCount, strategy
from ..training.adaptation import task_backbone
from ..training.losses import SummedCrossEntropy
from ..training.processes import inference_accelerator
from ..training.run_folder import start_fit, write_run_records
from ..training.train_weights import train_weights
from .fitted import Fitted, record_metrics

__all__ = ["encode_labelled", "text_proba", "validation_scorer",
           "classification_loss", "calibrate",
           "fit_classification", "predict_proba", "score_texts", "warn_if_trained_on", "as_texts"]


def encode_labelled(tokenizer, table: TextTable | None, classes: list[str], config, name: str = "train",
                    say=print) -> EncodedDataset | None:
    """Token ids and label ids of a split (None stays None), long texts handled as
    ``config.long_texts`` says; ``say`` reports how many texts were longer than ``max_length``."""
    if table is None:
        return None
    ids = {c: i for i, c in enumerate(classes)}
    dataset = encode_texts(tokenizer, table.texts, config.max_length, [ids[y] for y in table.labels],
                           config.long_texts)
    if dataset.over_limit:
        what = {"truncate": "keeps the start of each", "head_tail": "keeps the start and the end of each",
                "chunks": "reads each in overlapping windows"}[config.long_texts]
        say(f"{dataset.over_limit} of {len(table)} {name} texts are longer than max_length={config.max_length} "
            f"tokens: long_texts={config.long_texts} {what}" +
            (" (head_tail or chunks read more of them)" if config.long_texts == "truncate" else ""))
    return dataset


def text_proba(task: TaskType, logits: torch.Tensor, dataset: EncodedDataset, positive: int | None) -> np.ndarray:
    """Probabilities per text from logits per row (windows of one text pooled, see TaskType)."""
    return text_probabilities(task, torch.softmax(logits.float(), -1).numpy(), dataset.groups, positive)


def validation_scorer(task: TaskType, val_set: EncodedDataset | None, positive: int | None):
    """The loop's ``score_fn``: the task's selection metric on validation, per text."""
    return lambda logits, _rows: selection_score(task, text_proba(task, logits, val_set, positive),
                                                 val_set.text_labels, positive)


def classification_loss(task: TaskType, train_set: EncodedDataset, n_classes: int, mode: str):
    """(summed cross-entropy, whether classes are weighted): balanced weights when ``mode`` asks
    (``auto``: binary tasks whose minority class is under 25% of train)."""
    weights = class_weights(task, train_set.labels, n_classes, mode)
    return SummedCrossEntropy(weights), weights is not None


def calibrate(run: RunConfig, splits: TextSplits, val_proba: np.ndarray | None) -> tuple[float | None, float | None, np.ndarray | None]:
    """(temperature, threshold, calibrated validation probabilities), both fitted on validation:
    the temperature first (``temperature_scaling=true``), then the binary threshold on the
    calibrated scores. Without validation: no temperature, threshold 0.5."""
    cfg = run.training
    temperature = threshold = None
    if val_proba is not None:
        truth = np.asarray([splits.classes.index(y) for y in splits.validation.labels])
        if cfg.temperature_scaling:
            temperature = fit_temperature(val_proba, truth)
            val_proba = apply_temperature(val_proba, temperature)
    if splits.positive is not None:
        if val_proba is None:
            threshold = 0.5
        else:
            pos = splits.classes.index(splits.positive)
            threshold = tune_threshold(val_proba[:, pos], truth == pos, cfg.target_precision)
    return temperature, threshold, val_proba


def fit_classification(run: RunConfig, train, validation=None) -> Fitted:
    """Fit a text classifier as ``run`` says; returns the fitted record (validation metrics are
    written to the run folder)."""
    task = task_type(run.task)
    cfg = training_for(task, run.training)
    splits = read_text_splits(run, train, validation)
    accelerator, run_dir, train_table = start_fit(run, splits.train)
    if not strategy(run.strategy).neural:
        return _fit_classic(run, splits, train_table, accelerator, run_dir)
    source, adapt_seconds = task_backbone(run, splits.train.texts, splits.validation and splits.validation.texts,
                                         accelerator, run_dir)
    built = build_task_model(source, len(splits.classes), run.strategy, cfg)
    accelerator.print(f"{run.strategy}: {built.parameters}")
    train_set = encode_labelled(built.tokenizer, train_table, splits.classes, cfg, "train", accelerator.print)
    val_set = encode_labelled(built.tokenizer, splits.validation, splits.classes, cfg, "validation",
                              accelerator.print)
    loss_fn, balanced = classification_loss(task, train_set, len(splits.classes), cfg.class_weights)
    pos = splits.classes.index(splits.positive) if splits.positive is not None else None
    started = time.perf_counter()
    result = train_weights(built.net, run.strategy, train_set, val_set, text_collator(built.tokenizer), config=cfg,
                           accelerator=accelerator, loss_fn=loss_fn, run_dir=run_dir, balanced=balanced,
                           score_fn=validation_scorer(task, val_set, pos), score_name=task.selection_metric,
                           extract=extract_features, identity={"model": run.model, "strategy": run.strategy,
                                                                "adapt": cfg.adapt})
    fitted = Fitted(kind="text-classifier", run=run, net=built.net.eval(), tokenizer=built.tokenizer,
                    model_type=built.model_type, classes=splits.classes, parameters=built.parameters,
                    history=result.history, positive_label=splits.positive, run_dir=run_dir,
                    train_seconds=adapt_seconds + time.perf_counter() - started,
                    feature_seconds=result.feature_seconds,
                    train_texts=frozenset(splits.train.texts), train_over_max_length=train_set.over_limit)
    val_proba = None
    if splits.validation is not None:  # the kept epoch's validation logits, when the loop has them
        val_proba = text_proba(task, result.best_logits, val_set, pos) if result.best_logits is not None \
            else predict_proba(fitted, splits.validation.texts)
    temperature, threshold, val_proba = calibrate(run, splits, val_proba)
    if temperature is not None:
        accelerator.print(f"temperature scaling: T = {temperature:.3f}")
    if splits.positive is not None and splits.validation is None:
        accelerator.print("no validation data: the spam threshold stays at 0.5")
    fitted = dataclasses.replace(fitted, temperature=temperature, threshold=threshold)
    write_run_records(run_dir, run, fitted.history, accelerator)
    if splits.validation is not None:
        score_texts(fitted, splits.validation, "validation", val_proba)
    return fitted


def _fit_classic(run: RunConfig, splits: TextSplits, train: TextTable, accelerator, run_dir) -> Fitted:
    """The classic strategy: TF-IDF + logistic regression (C chosen on validation) on ``train``
    (augmented or not), then the same calibration and threshold as every strategy, in the same record."""
    task = task_type(run.task)
    weighted = class_weights(task, [splits.classes.index(y) for y in train.labels], len(splits.classes),
                             run.training.class_weights) is not None
    run, val = dataclasses.replace(run, model="classic"), splits.validation  # no checkpoint behind it
    started = time.perf_counter()
    model = TfidfClassifier(weighted, seed=run.training.seed).fit(train.texts, train.labels,
                                                                  val.texts if val else None, val.labels if val else None)
    n = classic_parameters(model)
    fitted = Fitted(kind="text-classifier", run=run, net=model, tokenizer=None, model_type="classic",
                    classes=splits.classes, parameters=ParameterCount(n, n), positive_label=splits.positive,
                    history=[{"epoch": 1, "head": f"TF-IDF + LogisticRegression(C={model.c_:g})"}], run_dir=run_dir,
                    train_seconds=time.perf_counter() - started, train_texts=frozenset(splits.train.texts))
    accelerator.print(f"classic: TF-IDF word and character n-grams, LogisticRegression C={model.c_:g}, {n:,} weights")
    val_proba = predict_proba(fitted, val.texts) if val is not None else None
    temperature, threshold, val_proba = calibrate(run, splits, val_proba)
    fitted = dataclasses.replace(fitted, temperature=temperature, threshold=threshold)
    write_run_records(run_dir, run, fitted.history, accelerator)
    if val is not None:
        score_texts(fitted, val, "validation", val_proba)
    return fitted


def predict_proba(fitted: Fitted, texts: list[str]) -> np.ndarray:
    """(n_texts, n_classes) probabilities, columns in ``fitted.classes`` order, temperature applied."""
    if is_classic(fitted.net):  # reads the texts themselves, not token ids
        return apply_temperature(fitted.net.predict_proba(texts, fitted.classes), fitted.temperature)
    cfg = fitted.run.training
    accelerator = inference_accelerator()
    on_device(fitted.net, accelerator.device)
    dataset = encode_texts(fitted.tokenizer, texts, cfg.max_length, long_texts=cfg.long_texts)
    logits = predict_logits(fitted.net, dataset, text_collator(fitted.tokenizer), accelerator, cfg.eval_batch_size)
    positive = fitted.classes.index(fitted.positive_label) if fitted.positive_label is not None else None
    proba = text_proba(task_type(fitted.task), logits, dataset, positive)
    return apply_temperature(proba, fitted.temperature)


def score_texts(fitted: Fitted, table: TextTable, name: str, proba: np.ndarray | None = None,
                extra_metrics=()) -> dict:
    """Every metric of the harness on a labelled table (``proba``: its probabilities, when already
    computed), in the report envelope, written as metrics-NAME.json/.md to the run folder."""
    if proba is None:
        proba = predict_proba(fitted, table.texts)
    classes, unseen = list(fitted.classes), sorted(set(table.labels) - set(fitted.classes))
    if unseen:  # scored as classes the model never predicts: their recall is 0, and the report lists them
        warnings.warn(f"{table.source}: label(s) {unseen} were not seen in training (model labels: {classes}); "
                      f"the model can never predict them, so they are scored with recall 0.", stacklevel=2)
        classes += unseen
        proba = np.hstack([proba, np.zeros((len(proba), len(unseen)))])
    metrics = evaluate_classification(table.labels, proba, classes, fitted.positive_label, fitted.threshold)
    if unseen:
        metrics["unseen_labels"] = unseen
    cfg = fitted.run.training  # what the model saw of these texts (TF-IDF baselines see all of them)
    if not is_classic(fitted.net):  # a classic model reads whole texts: no max_length
        metrics.update(max_length=cfg.max_length, long_texts=cfg.long_texts,
                       texts_over_max_length=count_over_limit(fitted.tokenizer, table.texts, cfg.max_length),
                       train_texts_over_max_length=fitted.train_over_max_length)
    if fitted.temperature is not None:
        metrics["temperature"] = fitted.temperature
    if extra_metrics:
        positive = classes.index(fitted.positive_label) if fitted.positive_label is not None else None
        predicted = decide(proba, positive, fitted.threshold).tolist()
        metrics.update(compute_extra_metrics(extra_metrics, predicted, [classes.index(y) for y in table.labels]))
    return record_metrics(fitted, name, metrics)


def warn_if_trained_on(fitted: Fitted, texts: list[str], source: str, name: str) -> None:
    """Evaluation data that overlaps the training texts gives optimistic scores: say how much."""
    shared = len(set(texts) & fitted.train_texts)
    if shared:
        warnings.warn(f"{shared} distinct text(s) of {source} also appear in the train data; "
                      f"{name} scores will be optimistic. Deduplicate across splits.", stacklevel=3)


def as_texts(texts) -> list[str]:
    """A string or an iterable of strings as a list; anything else is a TypeError naming the item."""
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"predict needs strings; item {i} is {type(t).__name__} {t!r}.")
    return texts

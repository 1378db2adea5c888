"""``TextClassifier``: sentiment and spam detection with a scikit-learn-like contract.

``__init__`` only stores arguments; ``fit`` returns ``self``; fitted state ends in ``_``;
``predict`` returns label strings; ``predict_proba`` columns follow ``classes_``.
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import torch

from .batching import encode_texts, text_collator
from .calibration import apply_temperature, fit_temperature
from .config import ConfigError, RunConfig, TrainConfig
from .data import DataError, TextTable, check_splits, read_text_table
from .estimator import (build, load_estimator, merge_adapter, predict_accelerator, record_metrics, save_estimator,
                        start_run, train_frozen_head, write_run_records)
from .harness import evaluate_classification, predicted_labels
from .inference import extract_features, predict_logits
from .strategies import default_learning_rate
from .tasks import CLASSIFICATION_TASKS, class_weights, positive_label, selection_score, tune_threshold
from .training import train_model

__all__ = ["TextClassifier"]


class TextClassifier:
    """Fine-tune a pretrained transformer to classify texts.

    model: hub id, local folder or alias (``minilm-l6`` works offline).
    task: "sentiment" (any number of classes) or "spam" (binary, imbalance-aware).
    strategy: "full", "frozen" (cached features + linear or scikit-learn head), "lora", or "scratch"
        (random weights: the baseline that shows what pretraining adds).
    training: hyperparameters (``TrainConfig``); defaults suit a few thousand examples.
    output_dir: run folder for the resolved config, history and metrics (default runs/TASK-STRATEGY-TIME).
    """

    def __init__(self, model: str = "minilm-l6", task: str = "sentiment", strategy: str = "full", *,
                 training: TrainConfig | None = None, text_column: str = "text", label_column: str = "label",
                 output_dir: str | None = None):
        self.model = model
        self.task = task
        self.strategy = strategy
        self.training = training
        self.text_column = text_column
        self.label_column = label_column
        self.output_dir = output_dir

    # -- fitting ---------------------------------------------------------------------------------
    def _run_config(self) -> RunConfig:
        return RunConfig(task=self.task, model=self.model, strategy=self.strategy, text_column=self.text_column,
                         label_column=self.label_column, output_dir=self.output_dir or "",
                         training=self.training or TrainConfig())

    def fit(self, train, validation=None) -> "TextClassifier":
        """Train on ``train`` (path, DataFrame or Dataset); ``validation`` drives early stopping
        and, for spam, the decision threshold."""
        run = self._run_config()  # validates task/strategy before any work
        if run.task not in CLASSIFICATION_TASKS:
            raise ConfigError(f"TextClassifier does task {' or '.join(CLASSIFICATION_TASKS)}; for {run.task!r} "
                              f"use EntityTagger.")
        cfg, task = run.training, CLASSIFICATION_TASKS[run.task]
        accelerator, self.run_dir_ = start_run(run, run.task)

        train_t = read_text_table(train, self.text_column, self.label_column, name="train")
        val_t = read_text_table(validation, self.text_column, self.label_column, name="validation") \
            if validation is not None else None
        classes = check_splits(train_t, {"validation": val_t})
        positive = positive_label(task, classes, train_t.labels, train_t.source)
        pos_index = classes.index(positive) if positive is not None else None

        built = build(self.model, len(classes), run.strategy, cfg)
        net, tokenizer = built.net, built.tokenizer
        accelerator.print(f"{run.strategy}: {built.parameters}")

        ids = {c: i for i, c in enumerate(classes)}
        train_ds = encode_texts(tokenizer, train_t.texts, cfg.max_length, [ids[y] for y in train_t.labels])
        val_ds = encode_texts(tokenizer, val_t.texts, cfg.max_length, [ids[y] for y in val_t.labels]) if val_t else None
        weights = class_weights(task, train_ds.labels, len(classes), cfg.class_weights)
        loss_fn = torch.nn.CrossEntropyLoss(weight=weights.to(accelerator.device) if weights is not None else None)
        score_fn = lambda logits, labels: selection_score(task, logits, labels, pos_index)  # noqa: E731
        collate = text_collator(tokenizer)

        started = time.perf_counter()
        if run.strategy == "frozen":
            net.to(accelerator.device)
            train_x = extract_features(net, train_ds, collate, accelerator, cfg.eval_batch_size)
            val_x = extract_features(net, val_ds, collate, accelerator, cfg.eval_batch_size) if val_ds else None
            self.feature_seconds_ = time.perf_counter() - started
            result = train_frozen_head(net, train_x, train_ds.labels, val_x, val_ds.labels if val_ds else None,
                                       cfg=cfg, accelerator=accelerator, loss_fn=loss_fn, score_fn=score_fn,
                                       balanced=weights is not None, run_dir=self.run_dir_)
        else:
            result = train_model(net, train_ds, collate, config=cfg, accelerator=accelerator,
                                 learning_rate=default_learning_rate(run.strategy, cfg), loss_fn=loss_fn,
                                 validation_set=val_ds, score_fn=score_fn, run_dir=self.run_dir_)
        self.train_seconds_ = time.perf_counter() - started
        self.history_ = result.history

        self.model_, self.tokenizer_, self.classes_ = net.eval(), tokenizer, classes
        self.positive_label_, self.model_type_, self.run_config_ = positive, built.model_type, run
        self._train_texts = frozenset(train_t.texts)  # to warn when evaluation texts were trained on; not saved
        self.parameters_ = built.parameters
        self.threshold_, self.temperature_, val_proba = None, None, None
        if val_t is not None:
            val_proba = torch.softmax(result.best_logits, -1).numpy() if result.best_logits is not None \
                else self.predict_proba(val_t.texts)
            if cfg.temperature_scaling:  # before the threshold: it is tuned on calibrated scores
                self.temperature_ = fit_temperature(val_proba, np.asarray(val_ds.labels))
                val_proba = apply_temperature(val_proba, self.temperature_)
                accelerator.print(f"temperature scaling: T = {self.temperature_:.3f}")
        if positive is not None:
            if val_proba is None:
                self.threshold_ = 0.5
                accelerator.print("no validation data: the spam threshold stays at 0.5")
            else:
                self.threshold_ = tune_threshold(val_proba[:, pos_index], np.asarray(val_ds.labels) == pos_index,
                                                 cfg.target_precision)
        write_run_records(self.run_dir_, run, self.history_, accelerator)
        if val_t is not None:
            self._report(val_t, val_proba, "validation")
        return self

    # -- prediction ------------------------------------------------------------------------------
    def predict_proba(self, texts) -> np.ndarray:
        """(n_texts, n_classes) probabilities, columns in ``classes_`` order."""
        texts = _as_texts(texts)
        cfg = self.run_config_.training
        accelerator = predict_accelerator(self)
        dataset = encode_texts(self.tokenizer_, texts, cfg.max_length)
        logits = predict_logits(self.model_, dataset, text_collator(self.tokenizer_), accelerator, cfg.eval_batch_size)
        return apply_temperature(torch.softmax(logits, -1).numpy(), getattr(self, "temperature_", None))

    def predict(self, texts) -> list[str]:
        """Label strings; for spam, ``p(spam) >= threshold_``."""
        return predicted_labels(self.predict_proba(texts), self.classes_, self.positive_label_, self.threshold_)

    def score(self, texts, labels) -> float:
        """Accuracy, as scikit-learn's ``score``."""
        return float(np.mean(np.asarray(self.predict(texts)) == np.asarray([str(y) for y in labels])))

    def evaluate(self, data, name: str = "test") -> dict:
        """Metrics on labelled ``data``; also written as metrics-NAME.json/.md to the run folder."""
        table = data if isinstance(data, TextTable) else read_text_table(data, self.text_column, self.label_column, name=name)
        unknown = sorted(set(table.labels) - set(self.classes_))
        if unknown:
            row = table.labels.index(unknown[0]) + 1
            raise DataError(f"{table.source}, row {row}: label {unknown[0]!r} was not seen in training "
                            f"(model labels: {self.classes_}).")
        shared = len(set(table.texts) & getattr(self, "_train_texts", frozenset()))
        if shared:
            warnings.warn(f"{shared} distinct text(s) of {table.source} also appear in the train data; "
                          f"{name} scores will be optimistic. Deduplicate across splits.", stacklevel=2)
        return self._report(table, self.predict_proba(table.texts), name)

    def _report(self, table, proba: np.ndarray, name: str) -> dict:
        metrics = evaluate_classification(table.labels, proba, self.classes_, self.positive_label_, self.threshold_)
        if getattr(self, "temperature_", None) is not None:
            metrics["temperature"] = self.temperature_
        return record_metrics(self, name, metrics)

    # -- export ----------------------------------------------------------------------------------
    def merge(self) -> "TextClassifier":
        """Fold a LoRA adapter into the backbone weights (for export); no-op for other strategies."""
        merge_adapter(self.model_)
        return self

    def save(self, path) -> Path:
        """Write the fitted model to the folder ``path`` (replaced atomically)."""
        return save_estimator(self, path, "text-classifier", {"positive_label": self.positive_label_,
                              "threshold": self.threshold_, "temperature": self.temperature_})

    @classmethod
    def _from_folder(cls, path) -> "TextClassifier":
        clf, meta = load_estimator(lambda run, meta: cls(
            meta["model"], meta["task"], meta["strategy"], training=run.training, text_column=run.text_column,
            label_column=run.label_column), path)
        clf.positive_label_, clf.threshold_ = meta["positive_label"], meta["threshold"]
        clf.temperature_ = meta.get("temperature")
        return clf


def _as_texts(texts) -> list[str]:
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"predict needs strings; item {i} is {type(t).__name__} {t!r}.")
    return texts

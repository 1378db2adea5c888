"""``TextClassifier``: sentiment and spam detection with a scikit-learn-like contract.

``__init__`` only stores arguments; ``fit`` returns ``self``; fitted state ends in ``_``;
``predict`` returns label strings; ``predict_proba`` columns follow ``classes_``.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..config import RunConfig, TrainConfig
from ..data.text_table import TextTable, read_text_table
from ..evaluation.harness import predicted_labels
from .auto import fit_auto, is_auto
from .classification import as_texts, fit_classification, predict_proba, score_texts, warn_if_trained_on
from .fitted import Fitted, SavedModelMethods, exposes_fitted

__all__ = ["TextClassifier"]


@exposes_fitted(positive_label_=("positive_label", "spam: the class the threshold is about"),
                threshold_=("threshold", "spam: a text is positive when p(positive) >= threshold_"),
                temperature_=("temperature", "softmax temperature fitted on validation, or None"))
class TextClassifier(SavedModelMethods):
    """Fine-tune a pretrained transformer to classify texts.

    model: hub id, local folder or alias (``minilm-l6`` works offline).
    task: "sentiment" (any number of classes) or "spam" (binary, imbalance-aware).
    strategy: "full", "frozen" (cached features + linear or scikit-learn head), "lora", "partial",
        "contrastive" (few labels), "scratch" (random weights: the baseline that shows what pretraining
        adds), "classic" (TF-IDF + logistic regression, no transformer), or "auto": rank the candidates
        with ``recommend``, train the best ``training.auto_candidates`` within ``training.budget`` and
        the classic model, keep the best on validation (``auto_`` says what trained and why).
        ``model="auto"`` (the offline aliases) or "a,b,c" makes the checkpoint a candidate too.
    training: hyperparameters (``TrainConfig``); defaults suit a few thousand examples.
    output_dir: run folder for the resolved config, history and metrics (default runs/TASK-STRATEGY-TIME).

    Fitted (read-only): ``classes_``, ``threshold_`` and ``positive_label_`` (spam), ``temperature_``,
    ``history_``, ``parameters_``, ``model_``, ``tokenizer_``, ``run_config_``, ``run_dir_``,
    ``train_seconds_``, ``feature_seconds_``; ``fitted_`` is the whole record.
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

    def _run_config(self) -> RunConfig:
        return RunConfig(task=self.task, model=self.model, strategy=self.strategy, text_column=self.text_column,
                         label_column=self.label_column, output_dir=self.output_dir or "",
                         training=self.training or TrainConfig())

    def fit(self, train, validation=None) -> "TextClassifier":
        """Train on ``train`` (path, DataFrame or Dataset); ``validation`` drives early stopping
        and, for spam, the decision threshold."""
        run = self._run_config()
        if is_auto(run):  # rank, train the best few and the classic model, keep the best on validation
            self.fitted_, self.auto_ = fit_auto(run, train, validation, fit_classification,
                                                dict(text_column=self.text_column, label_column=self.label_column))
        else:
            self.fitted_ = fit_classification(run, train, validation)
        return self

    @classmethod
    def from_config(cls, run: RunConfig) -> "TextClassifier":
        """The unfitted estimator a run configuration describes."""
        return cls(run.model, run.task, run.strategy, training=run.training, text_column=run.text_column,
                   label_column=run.label_column, output_dir=run.output_dir or None)

    @classmethod
    def from_fitted(cls, fitted: Fitted) -> "TextClassifier":
        """An estimator around a fitted record (what ``nlptransfer.load`` returns)."""
        clf = cls.from_config(dataclasses.replace(fitted.run, output_dir=""))
        clf.fitted_ = fitted
        return clf

    # -- prediction ------------------------------------------------------------------------------
    def predict_proba(self, texts) -> np.ndarray:
        """(n_texts, n_classes) probabilities, columns in ``classes_`` order."""
        return predict_proba(self.fitted_, as_texts(texts))

    def predict(self, texts) -> list[str]:
        """Label strings; for spam, ``p(spam) >= threshold_``."""
        return predicted_labels(self.predict_proba(texts), self.classes_, self.positive_label_, self.threshold_)

    def score(self, texts, labels) -> float:
        """Accuracy, as scikit-learn's ``score``."""
        return float(np.mean(np.asarray(self.predict(texts)) == np.asarray([str(y) for y in labels])))

    def read(self, data, name: str = "test") -> TextTable:
        """Labelled ``data`` read and checked with this estimator's column settings (errors name
        the file, row and column)."""
        return data if isinstance(data, TextTable) else read_text_table(data, self.text_column, self.label_column,
                                                                        name=name)

    def evaluate(self, data, name: str = "test", *, extra_metrics=()) -> dict:
        """Metrics on labelled ``data``; also written as metrics-NAME.json/.md to the run folder.
        ``extra_metrics``: ``evaluate`` modules (hub ids, local scripts or loaded modules), fed
        class indices, reported as ``name/key``."""
        table = self.read(data, name)
        warn_if_trained_on(self.fitted_, table.texts, table.source, name)
        return score_texts(self.fitted_, table, name, extra_metrics=extra_metrics)


"""``TextClassifier``: sentiment and spam detection with a scikit-learn-like contract.

``__init__`` only stores arguments; ``fit`` returns ``self``; fitted state ends in ``_``;
``predict`` returns label strings; ``predict_proba`` columns follow ``classes_``.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch
from accelerate.utils import set_seed

from .batching import FeatureDataset, encode_texts, text_collator
from .checkpoints import load_backbone, load_tokenizer, model_architecture
from .config import RunConfig, TrainConfig, config_to_dict
from .data import DataError, check_splits, read_text_table
from .inference import extract_features, predict_logits
from .metrics import classification_metrics, positive_class_metrics
from .modeling import SequenceClassifier
from .persistence import load_model_folder, save_model_folder
from .reports import atomic_write_text, write_metrics
from .strategies import ParameterCount, apply_strategy, count_parameters, default_learning_rate
from .tasks import CLASSIFICATION_TASKS, class_weights, decide, positive_label, selection_score, tune_threshold
from .training import TrainResult, make_accelerator, train_model

__all__ = ["TextClassifier"]


class TextClassifier:
    """Fine-tune a pretrained transformer to classify texts.

    model: hub id, local folder or alias (``minilm-l6`` works offline).
    task: "sentiment" (any number of classes) or "spam" (binary, imbalance-aware).
    strategy: "full", "frozen" (cached features + linear or scikit-learn head) or "lora".
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
        cfg, task = run.training, CLASSIFICATION_TASKS[run.task]
        if self.output_dir is None:
            run.output_dir = f"runs/{run.task}-{run.strategy}-{time.strftime('%Y%m%d-%H%M%S')}"
        set_seed(cfg.seed)
        accelerator = make_accelerator(cfg)

        train_t = read_text_table(train, self.text_column, self.label_column, name="train")
        val_t = read_text_table(validation, self.text_column, self.label_column, name="validation") \
            if validation is not None else None
        classes = check_splits(train_t, {"validation": val_t})
        positive = positive_label(task, classes, train_t.labels, train_t.source)
        pos_index = classes.index(positive) if positive is not None else None

        model_type, arch = model_architecture(self.model)
        tokenizer = load_tokenizer(self.model, arch)
        net = SequenceClassifier(load_backbone(self.model, arch, tokenizer.pad_token_id), len(classes),
                                 cfg.pooling or arch.pooling, cfg.dropout)
        apply_strategy(net, run.strategy, arch, cfg)
        self.parameters_ = count_parameters(net)
        accelerator.print(f"{run.strategy}: {self.parameters_}")

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
            if cfg.head == "sklearn":
                _fit_sklearn_head(net, train_x, train_ds.labels, weights is not None, cfg.seed)
                result = TrainResult()
            else:
                feature_val = FeatureDataset(val_x, val_ds.labels) if val_ds else None
                result = train_model(net, FeatureDataset(train_x, train_ds.labels), None, config=cfg,
                                     learning_rate=default_learning_rate("frozen", cfg), accelerator=accelerator,
                                     loss_fn=loss_fn, validation_set=feature_val, score_fn=score_fn, description="head")
        else:
            result = train_model(net, train_ds, collate, config=cfg, accelerator=accelerator,
                                 learning_rate=default_learning_rate(run.strategy, cfg), loss_fn=loss_fn,
                                 validation_set=val_ds, score_fn=score_fn)
        self.train_seconds_ = time.perf_counter() - started
        self.history_ = result.history

        self.model_, self.tokenizer_, self.classes_ = net.eval(), tokenizer, classes
        self.positive_label_, self.model_type_, self.run_config_ = positive, model_type, run
        self.threshold_, val_proba = None, None
        if val_t is not None:
            val_proba = torch.softmax(result.best_logits, -1).numpy() if result.best_logits is not None \
                else self.predict_proba(val_t.texts)
        if positive is not None:
            if val_proba is None:
                self.threshold_ = 0.5
                accelerator.print("no validation data: the spam threshold stays at 0.5")
            else:
                self.threshold_ = tune_threshold(val_proba[:, pos_index], np.asarray(val_ds.labels) == pos_index,
                                                 cfg.target_precision)
        self.run_dir_ = Path(run.output_dir)
        if accelerator.is_main_process:
            import yaml

            atomic_write_text(self.run_dir_ / "config.yaml", yaml.safe_dump(config_to_dict(run), sort_keys=False))
            atomic_write_text(self.run_dir_ / "history.json", json.dumps(self.history_, indent=2))
        if val_t is not None:
            self._report(val_t, val_proba, "validation")
        return self

    # -- prediction ------------------------------------------------------------------------------
    def _accelerator(self):
        if getattr(self, "_accel", None) is None:
            self._accel = make_accelerator(self.run_config_.training)
            self.model_.to(self._accel.device)
        return self._accel

    def predict_proba(self, texts) -> np.ndarray:
        """(n_texts, n_classes) probabilities, columns in ``classes_`` order."""
        texts = _as_texts(texts)
        cfg = self.run_config_.training
        accelerator = self._accelerator()
        dataset = encode_texts(self.tokenizer_, texts, cfg.max_length)
        logits = predict_logits(self.model_, dataset, text_collator(self.tokenizer_), accelerator, cfg.eval_batch_size)
        return torch.softmax(logits, -1).numpy()

    def predict(self, texts) -> list[str]:
        """Label strings; for spam, ``p(spam) >= threshold_``."""
        proba = self.predict_proba(texts)
        pos = self.classes_.index(self.positive_label_) if self.positive_label_ else None
        return [self.classes_[i] for i in decide(proba, pos, self.threshold_)]

    def score(self, texts, labels) -> float:
        """Accuracy, as scikit-learn's ``score``."""
        return float(np.mean(np.asarray(self.predict(texts)) == np.asarray([str(y) for y in labels])))

    def evaluate(self, data, name: str = "test") -> dict:
        """Metrics on labelled ``data``; also written as metrics-NAME.json/.md to the run folder."""
        from .data import TextTable

        table = data if isinstance(data, TextTable) else read_text_table(data, self.text_column, self.label_column, name=name)
        unknown = sorted(set(table.labels) - set(self.classes_))
        if unknown:
            row = table.labels.index(unknown[0]) + 1
            raise DataError(f"{table.source}, row {row}: label {unknown[0]!r} was not seen in training "
                            f"(model labels: {self.classes_}).")
        return self._report(table, self.predict_proba(table.texts), name)

    def _report(self, table, proba: np.ndarray, name: str) -> dict:
        pos = self.classes_.index(self.positive_label_) if self.positive_label_ else None
        predicted = [self.classes_[i] for i in decide(proba, pos, self.threshold_)]
        metrics = {"task": self.task, "strategy": self.strategy, "model": self.model, "split": name,
                   **classification_metrics(table.labels, predicted, self.classes_)}
        if pos is not None:
            metrics.update(positive_class_metrics(table.labels, predicted, proba[:, pos], self.positive_label_))
            metrics["threshold"] = self.threshold_
        metrics.update(trainable_params=self.parameters_.trainable, total_params=self.parameters_.total)
        if self.run_dir_ is not None and self._accelerator().is_main_process:
            write_metrics(metrics, self.run_dir_, name)
        return metrics

    # -- export ----------------------------------------------------------------------------------
    def merge(self) -> "TextClassifier":
        """Fold a LoRA adapter into the backbone weights (for export); no-op for other strategies."""
        if hasattr(self.model_.backbone, "merge_and_unload"):
            self.model_.backbone = self.model_.backbone.merge_and_unload()
        return self

    def save(self, path) -> Path:
        """Write the fitted model to the folder ``path`` (replaced atomically)."""
        meta = {"kind": "text-classifier", "task": self.task, "strategy": self.strategy, "model": self.model,
                "model_type": self.model_type_, "classes": self.classes_, "positive_label": self.positive_label_,
                "threshold": self.threshold_, "pooling": self.model_.pooling,
                "merged": self.strategy == "lora" and not hasattr(self.model_.backbone, "peft_config"),
                "parameters": dataclasses.asdict(self.parameters_)}
        # The run's records travel with the model (and survive when the run folder is the save folder).
        run_files = [*self.run_dir_.glob("metrics-*"), self.run_dir_ / "history.json"] if self.run_dir_ else []
        extra = {p.name: p for p in run_files if p.exists()}
        from accelerate import PartialState

        state = PartialState()  # under several processes, the main one writes and the others wait
        if state.is_main_process:
            save_model_folder(path, self.model_, self.tokenizer_, meta, config_to_dict(self.run_config_), extra)
        state.wait_for_everyone()
        return Path(path)

    @classmethod
    def _from_folder(cls, path) -> "TextClassifier":
        def build(backbone, meta):
            return SequenceClassifier(backbone, len(meta["classes"]), meta["pooling"])

        net, tokenizer, meta, config = load_model_folder(path, build)
        from .config import load_run_config

        run = load_run_config(None, (), **{k: v for k, v in config.items() if k != "output_dir"}, output_dir="")
        clf = cls(meta["model"], meta["task"], meta["strategy"], training=run.training,
                  text_column=run.text_column, label_column=run.label_column)
        clf.model_, clf.tokenizer_, clf.classes_, clf.run_config_ = net, tokenizer, meta["classes"], run
        clf.positive_label_, clf.threshold_, clf.model_type_ = meta["positive_label"], meta["threshold"], meta["model_type"]
        clf.parameters_ = ParameterCount(**meta["parameters"])
        clf.run_dir_, clf.history_ = None, []
        return clf


def _as_texts(texts) -> list[str]:
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"predict needs strings; item {i} is {type(t).__name__} {t!r}.")
    return texts


def _fit_sklearn_head(net, features: torch.Tensor, labels: list[int], balanced: bool, seed: int) -> None:
    """scikit-learn LogisticRegression on the cached features, copied into the linear head so
    prediction and saving use the same module as every other strategy."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(max_iter=2000, class_weight="balanced" if balanced else None, random_state=seed)
    lr.fit(features.numpy(), labels)
    coef, bias = lr.coef_, lr.intercept_
    if coef.shape[0] == 1:  # binary: softmax([0, z]) == sigmoid(z)
        coef, bias = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], bias])
    head = net.classifier_head
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(coef, dtype=head.weight.dtype))
        head.bias.copy_(torch.as_tensor(bias, dtype=head.bias.dtype))

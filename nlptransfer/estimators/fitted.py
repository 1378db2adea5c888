"""A fitted model as one frozen record, and the functions that take it: the metrics envelope,
saving and loading.

Fitting (``fit_classification``, ``fit_tagging``) returns a ``Fitted``; the estimators copy
nothing out of it but read their ``*_`` attributes through it, so saving, loading, reporting and
prediction never reach into an estimator's private state.
"""
from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from pathlib import Path

from ..config import RunConfig, config_to_dict, load_run_config
from ..evaluation.metric_files import write_metrics
from ..evaluation.model_card import write_model_card
from ..models.classic import is_classic
from ..models.model_folder import load_model_folder, read_metadata, save_model_folder
from ..models.task_model import TaskModel
from ..strategies import ParameterCount
from ..training.processes import process_state
from ..training.tracking import METRICS_LOG

__all__ = ["Fitted", "SavedModelMethods", "record_metrics", "save_fitted", "load_fitted", "exposes_fitted", "load",
           "estimator_class", "ESTIMATORS"]

# kind (TaskType.estimator, and nlptransfer.json's "kind") -> module and class, imported on use
ESTIMATORS = {"text-classifier": ("text_classifier", "TextClassifier"), "entity-tagger": ("entity_tagger", "EntityTagger"),
              "multi-task": ("multi_task", "MultiTaskModel")}


@dataclass(frozen=True)
class Fitted:
    """Everything a fitted model is. ``run`` is the resolved configuration it was trained with
    (task, model name, strategy, columns, hyperparameters)."""

    kind: str
    run: RunConfig
    net: TaskModel
    tokenizer: object
    model_type: str
    classes: list[str]
    parameters: ParameterCount
    history: list = field(default_factory=list)
    positive_label: str | None = None  # binary tasks: the class the threshold is about
    threshold: float | None = None
    temperature: float | None = None
    run_dir: Path | None = None  # where metrics-*.json go; None for a loaded model
    train_seconds: float | None = None
    feature_seconds: float | None = None  # caching strategies: time spent computing features
    train_texts: frozenset = frozenset()  # to warn when evaluation data was trained on; not saved
    train_over_max_length: int | None = None  # training texts longer than max_length (long_texts handled them)

    @property
    def task(self) -> str:
        return self.run.task

    @property
    def strategy(self) -> str:
        return self.run.strategy

    @property
    def model(self) -> str:
        return self.run.model


# Fitted attributes every estimator has: attribute -> (Fitted field, what it is)
FITTED_ATTRIBUTES = {
    "model_": ("net", "the fitted TaskModel (backbone, pooling, head)"),
    "tokenizer_": ("tokenizer", "the tokenizer"),
    "classes_": ("classes", "labels (NER: IOB2 tags), in the order of the head's outputs"),
    "history_": ("history", "one row per epoch: train loss and validation score"),
    "parameters_": ("parameters", "trainable and total parameter counts"),
    "model_type_": ("model_type", "the checkpoint's config.model_type"),
    "run_config_": ("run", "the resolved RunConfig the model was trained with"),
    "run_dir_": ("run_dir", "the run folder (None for a loaded model)"),
    "train_seconds_": ("train_seconds", "training time, feature extraction included"),
    "feature_seconds_": ("feature_seconds", "frozen: time spent computing the cached features"),
}


def exposes_fitted(**extra: tuple[str, str]):
    """Class decorator: the estimator's fitted attributes (``FITTED_ATTRIBUTES`` and ``extra``),
    read-only views of its ``fitted_`` record, so assigning one is an error rather than a change
    that prediction would silently ignore. Before fitting, reading one says the estimator is not
    fitted (an AttributeError, as scikit-learn's ``check_is_fitted`` expects)."""

    def decorate(cls):
        for attribute, (name, doc) in {**FITTED_ATTRIBUTES, **extra}.items():
            setattr(cls, attribute, property(lambda self, name=name: getattr(self.fitted_, name), doc=doc))
        cls.__getattr__ = _not_fitted
        return cls

    return decorate


def _not_fitted(estimator, name: str):
    """``__getattr__`` (called only for missing attributes)."""
    if name == "fitted_" or isinstance(getattr(type(estimator), name, None), property):
        raise AttributeError(f"this {type(estimator).__name__} is not fitted yet: call fit() or nlptransfer.load().")
    raise AttributeError(f"{type(estimator).__name__!r} object has no attribute {name!r}")


class SavedModelMethods:
    """merge, save and export, shared by every estimator (each holds its record in ``fitted_``)."""

    def merge(self):
        """Fold a LoRA adapter into the backbone weights (for export); no-op for other strategies."""
        from ..strategies import merge_adapter

        merge_adapter(self.fitted_.net)
        return self

    def save(self, path, *, self_contained: bool = False) -> Path:
        """Write the fitted model to the folder ``path`` (replaced atomically). Frozen and LoRA
        models keep a checked reference to their base checkpoint instead of a copy of its weights,
        unless ``self_contained``."""
        return save_fitted(self.fitted_, path, self_contained)

    def export(self, path, *, quantize: str | None = None, overwrite: bool = False) -> Path:
        """Write an ONNX copy to the folder ``path`` (``quantize="int8"`` for int8 weights);
        ``load(path)`` returns an estimator that predicts through ONNX Runtime."""
        from .exporting import export_fitted

        return export_fitted(self.fitted_, path, quantize=quantize, overwrite=overwrite)


def record_metrics(fitted: Fitted, name: str, metrics: dict) -> dict:
    """Every report's envelope (task, strategy, model, split, parameter counts) around the task's
    metrics, written as metrics-NAME.json/.md to the run folder when there is one."""
    report = {"task": fitted.task, "strategy": fitted.strategy, "model": fitted.model, "split": name, **metrics,
              "trainable_params": fitted.parameters.trainable, "total_params": fitted.parameters.total}
    if fitted.run_dir is not None and process_state().is_main_process:
        write_metrics(report, fitted.run_dir, name)
    return report


def run_record_files(run_dir: Path) -> list[Path]:
    """The records of a run that travel with its model: metrics, history and the metrics log."""
    return [*run_dir.glob("metrics-*"), run_dir / "history.json", run_dir / METRICS_LOG]


def save_fitted(fitted: Fitted, path, self_contained: bool = False) -> Path:
    """Save the model, tokenizer, labels and run records to ``path`` (replaced atomically). A
    backbone that never changed is kept as a checked reference to its base checkpoint unless
    ``self_contained`` (or the run's ``self_contained=true``)."""
    net = fitted.net
    if getattr(net, "session", None) is not None:  # an ONNX export (OnnxNet) is a folder already
        from ..errors import ConfigError

        raise ConfigError("this model was loaded from an ONNX export: copy its folder instead of saving it.")
    meta = {"kind": fitted.kind, "task": fitted.task, "strategy": fitted.strategy, "model": fitted.model,
            "model_type": fitted.model_type, "classes": fitted.classes, "pooling": net.pooling,
            "unit_features": net.unit_features,
            "merged": fitted.strategy == "lora" and not hasattr(net.backbone, "peft_config"),
            "parameters": dataclasses.asdict(fitted.parameters)}
    if is_classic(net):  # no network, no tokenizer (models/classic.py)
        meta["format"] = "classic"
    if fitted.kind == "text-classifier":
        meta.update(positive_label=fitted.positive_label, threshold=fitted.threshold, temperature=fitted.temperature)
    # The run's records travel with the model (when the run folder is the save folder, they stay).
    run_dir = fitted.run_dir
    run_files = run_record_files(run_dir) if run_dir else []
    state = process_state()  # under several processes, the main one writes and the others wait
    if state.is_main_process:
        # A backbone adapted during the run (adapt=task) lives only in that run's folder: copied.
        unchanged = fitted.run.training.adapt == "none" and \
            (fitted.strategy == "frozen" or (fitted.strategy == "lora" and not meta["merged"]))
        base = fitted.model if unchanged and not (self_contained or fitted.run.training.self_contained) else None
        save_model_folder(path, net, fitted.tokenizer, meta, config_to_dict(fitted.run),
                          {p.name: p for p in run_files if p.exists()}, base=base)
        write_model_card(path)
    state.wait_for_everyone()
    return Path(path)


def load_fitted(path) -> Fitted:
    """The record of a folder written by ``save_fitted``."""
    net, tokenizer, meta, config = load_model_folder(
        path, lambda backbone, meta: TaskModel(backbone, len(meta["classes"]), meta["pooling"],
                                                  unit_features=meta.get("unit_features", False)))
    run = load_run_config(None, (), **{k: v for k, v in config.items() if k != "output_dir"}, output_dir="")
    return Fitted(kind=meta["kind"], run=run, net=net, tokenizer=tokenizer, model_type=meta["model_type"],
                  classes=meta["classes"], parameters=ParameterCount(**meta["parameters"]),
                  positive_label=meta.get("positive_label"), threshold=meta.get("threshold"),
                  temperature=meta.get("temperature"))


def estimator_class(kind: str):
    """The estimator class of a kind ("text-classifier", "entity-tagger" or "multi-task")."""
    if kind not in ESTIMATORS:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(ESTIMATORS)}")
    module, name = ESTIMATORS[kind]
    return getattr(importlib.import_module(f".{module}", __package__), name)


def load(path):
    """Load any model saved by nlptransfer's ``save`` (the folder's nlptransfer.json says which kind)."""
    cls = estimator_class(read_metadata(path)["kind"])
    return cls.from_folder(path) if hasattr(cls, "from_folder") else cls.from_fitted(load_fitted(path))

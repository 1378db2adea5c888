"""``MultiTaskModel``: one backbone trained on several tasks at once (any mix of sentiment, spam
and NER), a head per task, with the scikit-learn-like contract of the single-task estimators.

    mt = MultiTaskModel(model="minilm-l6", strategy="full", tasks={
        "sentiment": ("sentiment", train_sent, val_sent),
        "spam": ("spam", train_spam, val_spam),
        "ner": ("ner", train_ner, val_ner)}).fit()
    mt.evaluate({"sentiment": test_sent, "spam": test_spam}); mt.predict("spam", texts)
    mt.save("out/multi"); load("out/multi"); mt.export_task("spam", "out/spam")   # a single-task folder

Each task is predicted, scored and exported by its single-task estimator (``mt.estimator(name)``)
over the shared weights, so every task keeps its own rules: the spam threshold and class weights,
NER windows, strict entity scoring.
"""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from ..config import TrainConfig
from ..errors import ConfigError
from ..evaluation.model_card import write_model_card
from ..models.model_folder import load_model_folder, save_model_folder
from ..models.multi_task_net import MultiTaskNet
from ..multi_task_config import MultiTaskConfig, load_multi_task_config, multi_task_config_to_dict
from ..strategies import ParameterCount, merge_adapter
from ..training.processes import process_state
from .fitted import estimator_class, run_record_files
from .multi_task_fit import MultiFitted, fit_multi_task, task_records

__all__ = ["MultiTaskModel", "KIND"]

KIND = "multi-task"  # nlptransfer.json's "kind" for a multi-task folder
_DATA_KEYS = ("train", "validation")


def _task_blocks(tasks: dict) -> tuple[dict, dict]:
    """(config blocks, in-memory data) from ``tasks``: name -> (task, train[, validation]) or a
    task block dict whose train/validation may be paths, DataFrames or Datasets."""
    blocks, data = {}, {}
    for name, spec in (tasks or {}).items():
        if isinstance(spec, (tuple, list)):
            if not 2 <= len(spec) <= 3:
                raise ConfigError(f"tasks[{name!r}] must be (task, train) or (task, train, validation); got "
                                  f"{len(spec)} items.")
            spec = {"task": spec[0], "train": spec[1], "validation": spec[2] if len(spec) == 3 else None}
        if not isinstance(spec, dict):
            raise ConfigError(f"tasks[{name!r}] must be a (task, train, validation) tuple or a dict; got "
                              f"{type(spec).__name__}.")
        block = {k: v for k, v in spec.items() if k not in _DATA_KEYS or isinstance(v, (str, Path, type(None)))}
        blocks[name] = {k: str(v) if isinstance(v, Path) else v for k, v in block.items()}
        data[name] = tuple(spec.get(k) for k in _DATA_KEYS)
    return blocks, data


class MultiTaskModel:
    """Fine-tune one pretrained transformer on several tasks at once, a head per task.

    tasks: name -> (task, train, validation), task being "sentiment", "spam" or "ner"; or a dict
        with task, train, validation, columns (text_column, ...), task rules (class_weights,
        target_precision, ...) and weight (its share of the mean validation score).
    strategy: "full", "lora" (one adapter shared, heads separate), "partial", "gradual" or "scratch".
    sampling: which task's batch comes next: "proportional" to the training-set sizes,
        "temperature" (p ~ n ** (1 / sampling_temperature): small tasks drawn more often than their
        size) or "uniform".
    weights: name -> weight of that task's validation score in the mean that selects the epoch.
    training: shared hyperparameters (``TrainConfig``).

    Fitted (read-only): ``tasks_`` (name -> its fitted single-task record), ``history_``,
    ``parameters_``, ``run_dir_``, ``train_seconds_``; ``fitted_`` is the whole record.
    """

    def __init__(self, model: str = "minilm-l6", strategy: str = "full", tasks: dict | None = None, *,
                 training: TrainConfig | None = None, sampling: str = "temperature", sampling_temperature: float = 2.0,
                 weights: dict | None = None, output_dir: str | None = None):
        self.model = model
        self.strategy = strategy
        self.tasks = tasks
        self.training = training
        self.sampling = sampling
        self.sampling_temperature = sampling_temperature
        self.weights = weights
        self.output_dir = output_dir

    def _config(self) -> tuple[MultiTaskConfig, dict]:
        blocks, data = _task_blocks(self.tasks)
        for name, weight in (self.weights or {}).items():
            if name not in blocks:
                raise ConfigError(f"weights name task {name!r}, which is not among the tasks {list(blocks)}.")
            blocks[name]["weight"] = weight
        shared = dataclasses.asdict(self.training or TrainConfig())
        config = load_multi_task_config(tasks=blocks, model=self.model, strategy=self.strategy,
                                        output_dir=self.output_dir or "", sampling=self.sampling,
                                        sampling_temperature=self.sampling_temperature, **shared)
        return config, data

    def fit(self) -> "MultiTaskModel":
        """Train the shared backbone and every head; validation splits pick the kept epoch (by the
        weighted mean of the tasks' selection scores) and fit each task's threshold."""
        config, data = self._config()
        self.fitted_ = fit_multi_task(config, data)
        return self

    @classmethod
    def from_config(cls, config: MultiTaskConfig) -> "MultiTaskModel":
        """The unfitted estimator a multi-task configuration describes (data from its paths)."""
        tasks = {name: {k: v for k, v in blocks.items()}
                 for name, blocks in multi_task_config_to_dict(config)["tasks"].items()}
        return cls(config.model, config.strategy, tasks, training=config.training, sampling=config.sampling,
                   sampling_temperature=config.sampling_temperature, output_dir=config.output_dir or None)

    @classmethod
    def from_folder(cls, path) -> "MultiTaskModel":
        """The multi-task model saved in ``path`` (what ``nlptransfer.load`` returns for it)."""
        fitted = load_multi(path)
        model = cls.from_config(dataclasses.replace(fitted.config, output_dir=""))
        model.fitted_ = fitted
        return model

    def __getattr__(self, name: str):
        fields = {"tasks_": "tasks", "history_": "history", "parameters_": "parameters", "run_dir_": "run_dir",
                  "train_seconds_": "train_seconds", "model_": "net"}
        if name in fields:
            if "fitted_" not in self.__dict__:
                raise AttributeError("this MultiTaskModel is not fitted yet: call fit() or nlptransfer.load().")
            return getattr(self.fitted_, fields[name])
        raise AttributeError(f"'MultiTaskModel' object has no attribute {name!r}")

    # -- one task ----------------------------------------------------------------------------------
    def estimator(self, name: str):
        """Task ``name`` as a fitted ``TextClassifier`` or ``EntityTagger`` over the shared weights
        (not a copy: training more would change both)."""
        tasks = self.tasks_
        if name not in tasks:
            raise ConfigError(f"no task {name!r} in this multi-task model; its tasks are {', '.join(tasks)}.")
        return estimator_class(tasks[name].kind).from_fitted(tasks[name])

    def predict(self, name: str, texts):
        """Task ``name``'s predictions: label strings, or entities for NER (as its estimator's ``predict``)."""
        return self.estimator(name).predict(texts)

    def predict_proba(self, name: str, texts):
        """Class probabilities of a classification task, columns in its ``classes_`` order."""
        return self.estimator(name).predict_proba(texts)

    def evaluate(self, data: dict, name: str = "test") -> dict:
        """task name -> its metrics on the labelled data given for it (each task's own harness)."""
        unknown = sorted(set(data) - set(self.tasks_))
        if unknown:
            raise ConfigError(f"evaluate: no task {unknown[0]!r}; the tasks are {', '.join(self.tasks_)}.")
        return {task: self.estimator(task).evaluate(source, name) for task, source in data.items()}

    def export_task(self, name: str, path, *, self_contained: bool = False) -> Path:
        """Write task ``name`` as an ordinary single-task model folder (the backbone and its head),
        which ``load`` and ``nlptransfer predict`` read like any other."""
        return self.estimator(name).save(path, self_contained=self_contained)

    # -- the whole model ---------------------------------------------------------------------------
    def merge(self) -> "MultiTaskModel":
        """LoRA: fold the shared adapter into the backbone weights; no-op for other strategies."""
        merge_adapter(self.fitted_.net)
        return self

    def save(self, path, *, self_contained: bool = False) -> Path:
        """Write the whole multi-task model (one backbone, every head) to the folder ``path``."""
        return save_multi(self.fitted_, path, self_contained)


def save_multi(fitted: MultiFitted, path, self_contained: bool = False) -> Path:
    """One model folder (models/model_folder.py) whose head.safetensors holds every task's head and
    whose nlptransfer.json lists the tasks with their labels, poolings and thresholds."""
    net, config, path = fitted.net, fitted.config, Path(path)
    adapter = hasattr(net.backbone, "peft_config")
    meta = {"kind": KIND, "task": KIND, "strategy": config.strategy, "model": config.model,
            "model_type": fitted.model_type, "unit_features": False,
            "classes": {n: f.classes for n, f in fitted.tasks.items()},
            "pooling": {n: net.heads_spec[n]["pooling"] for n in fitted.tasks},
            "merged": config.strategy == "lora" and not adapter,
            "parameters": dataclasses.asdict(fitted.parameters),
            "tasks": {n: {"task": f.task, "kind": f.kind, "positive_label": f.positive_label,
                          "threshold": f.threshold, "temperature": f.temperature} for n, f in fitted.tasks.items()}}
    base = config.model if adapter and not (self_contained or config.training.self_contained) else None
    run_dir = fitted.run_dir
    files = {p.name: p for p in run_record_files(run_dir) if p.exists() and p.name.endswith((".json", ".jsonl"))} \
        if run_dir else {}
    state = process_state()
    if state.is_main_process:
        save_model_folder(path, net, fitted.tokenizer, meta, multi_task_config_to_dict(config), files, base=base)
        if run_dir is not None and (run_dir / "tasks").exists() and run_dir.resolve() != path.resolve():
            shutil.copytree(run_dir / "tasks", path / "tasks", dirs_exist_ok=True)  # each task's metrics
        write_model_card(path)
    state.wait_for_everyone()
    return path


def load_multi(path) -> MultiFitted:
    """The record of a folder written by ``save_multi``."""
    def build(backbone, meta):
        if meta["kind"] != KIND:
            raise ConfigError(f"{path} holds a single-task model ({meta['kind']}): load it with nlptransfer.load.")
        return MultiTaskNet(backbone, {n: {"num_labels": len(meta["classes"][n]), "pooling": meta["pooling"][n]}
                                       for n in meta["tasks"]})

    net, tokenizer, meta, saved = load_model_folder(path, build)
    config = load_multi_task_config(None, (), **{k: v for k, v in saved.items() if k != "output_dir"}, output_dir="")
    fitted = MultiFitted(config=config, net=net, tokenizer=tokenizer, model_type=meta["model_type"],
                         parameters=ParameterCount(**meta["parameters"]), tasks={})
    for name, task in meta["tasks"].items():
        fitted.tasks[name] = dataclasses.replace(
            task_records(fitted, name, None), classes=meta["classes"][name], positive_label=task["positive_label"],
            threshold=task["threshold"], temperature=task["temperature"])
    return fitted

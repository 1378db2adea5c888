"""Typed configuration of a multi-task run: one checkpoint, strategy and set of hyperparameters
shared by every task, and a ``tasks:`` block with each task's type, data and columns.

    model: minilm-l6
    strategy: full                 # full, lora, partial, gradual or scratch
    sampling: temperature          # proportional, temperature or uniform (data/task_sampling.py)
    sampling_temperature: 2
    epochs: 5                      # any TrainConfig key: shared by all tasks
    output_dir: out/multi
    tasks:
      sentiment: {task: sentiment, train: sst2-train.csv, validation: sst2-val.csv, weight: 1}
      spam: {task: spam, train: sms-train.csv, validation: sms-val.csv, target_precision: 0.98}
      ner: {task: ner, train: conll-train.txt, validation: conll-valid.txt}

Each task is an ordinary ``RunConfig`` (its checks apply), so every task keeps its own rules.
``weight`` is the task's weight in the mean validation score that picks the kept epoch.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .config import RunConfig, TrainConfig, config_to_dict, load_run_config, read_config_values
from .errors import ConfigError

__all__ = ["SAMPLING", "MULTI_TASK_STRATEGIES", "PER_TASK_TRAINING", "MultiTaskConfig", "load_multi_task_config",
           "multi_task_config_to_dict"]

SAMPLING = ("proportional", "temperature", "uniform")
# Strategies that train a backbone through batches: what the tasks can share. frozen and
# contrastive train the backbone per task or not at all, classic has none.
MULTI_TASK_STRATEGIES = ("full", "lora", "partial", "gradual", "scratch")
# Training options that are task rules, not shared hyperparameters: a task block may set them.
PER_TASK_TRAINING = ("class_weights", "target_precision", "temperature_scaling", "long_texts", "window_overlap")
_TASK_KEYS = ("task", "train", "validation", "test", "text_column", "label_column", "tokens_column", "tags_column",
              "tag_column_index", "repair_tags")
_MULTI_KEYS = ("sampling", "sampling_temperature", "tasks")


@dataclass
class MultiTaskConfig:
    """tasks: name -> that task's ``RunConfig`` (model, strategy and training shared).
    sampling / sampling_temperature: which task's batch comes next (``task_probabilities``).
    weights: name -> weight in the mean validation score (default 1 each)."""

    tasks: dict = field(default_factory=dict)
    model: str = "minilm-l6"
    strategy: str = "full"
    training: TrainConfig = field(default_factory=TrainConfig)
    output_dir: str = ""
    sampling: str = "temperature"
    sampling_temperature: float = 2.0
    weights: dict = field(default_factory=dict)

    def __post_init__(self):
        if len(self.tasks) < 2:
            raise ConfigError(f"multi-task training needs at least two tasks; got {len(self.tasks)}. Train one task "
                              f"with TextClassifier / EntityTagger or nlptransfer train.")
        for name in self.tasks:
            if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
                raise ConfigError(f"task name {name!r}: use letters, digits, - and _ (it names the task's head).")
        if self.strategy not in MULTI_TASK_STRATEGIES:
            raise ConfigError(f"strategy {self.strategy!r} cannot share a backbone between tasks; multi-task "
                              f"training takes {', '.join(MULTI_TASK_STRATEGIES)}.")
        if self.sampling not in SAMPLING:
            raise ConfigError(f"sampling must be one of {', '.join(SAMPLING)}; got {self.sampling!r}.")
        if not isinstance(self.sampling_temperature, (int, float)) or not self.sampling_temperature > 0:
            raise ConfigError(f"sampling_temperature must be above 0; got {self.sampling_temperature!r}.")
        unknown = sorted(set(self.weights) - set(self.tasks))
        if unknown:
            raise ConfigError(f"weights name task(s) {unknown} that are not among the tasks {list(self.tasks)}.")
        if any(not isinstance(w, (int, float)) or w < 0 for w in self.weights.values()) or \
                not sum(self.weight(n) for n in self.tasks) > 0:
            raise ConfigError(f"weights must be numbers of at least 0, not all 0; got {self.weights}.")
        cfg = self.training
        for option, value, default in (("adapt", cfg.adapt, "none"), ("augment", cfg.augment, "none"),
                                       ("head_init", cfg.head_init, "random")):
            if value != default:
                raise ConfigError(f"{option}={value} is not available for multi-task training yet; use "
                                  f"{option}={default}, or train the task alone.")

    def weight(self, name: str) -> float:
        return float(self.weights.get(name, 1.0))


def _task_run(shared: RunConfig, name: str, block) -> RunConfig:
    """One task's RunConfig: the shared model, strategy and training, its own type, data, columns
    and task rules."""
    if not isinstance(block, dict) or "task" not in block:
        raise ConfigError(f"tasks.{name} must be a mapping with at least task: sentiment, spam or ner.")
    shared_keys = sorted(set(block) - set(_TASK_KEYS) - set(PER_TASK_TRAINING))
    if shared_keys:
        raise ConfigError(f"tasks.{name}: {', '.join(shared_keys)} cannot differ between tasks; set it at the top "
                          f"level. A task block takes {', '.join(_TASK_KEYS + PER_TASK_TRAINING)} and weight.")
    values = {k: v for k, v in config_to_dict(shared).items() if k not in _TASK_KEYS or k == "task"}
    values.update(block)
    try:
        return load_run_config(None, (), **values)
    except ConfigError as e:
        raise ConfigError(f"tasks.{name}: {e}") from None


def load_multi_task_config(path=None, overrides=(), *, tasks: dict | None = None, **fixed) -> MultiTaskConfig:
    """Read a multi-task YAML file (optional), apply ``key=value`` overrides of shared keys, then
    ``fixed`` values. ``tasks``: name -> task block (the YAML's ``tasks:``), when not from a file."""
    values = read_config_values(path, overrides)
    values.update(fixed)
    blocks = tasks if tasks is not None else values.pop("tasks", None)
    values.pop("tasks", None)
    if not isinstance(blocks, dict) or not blocks:
        raise ConfigError("a multi-task config needs a tasks: block, one entry per task (name: {task: ..., "
                          "train: ..., validation: ...}).")
    multi = {k: values.pop(k) for k in _MULTI_KEYS if k in values}
    for key in ("task", *_TASK_KEYS[1:]):
        if key in values:
            raise ConfigError(f"{key} belongs in a task's block under tasks:, not at the top level.")
    shared = load_run_config(None, (), **values)
    blocks = {name: dict(block) if isinstance(block, dict) else block for name, block in blocks.items()}
    weights = {name: block.pop("weight") for name, block in blocks.items() if isinstance(block, dict) and "weight" in block}
    runs = {name: _task_run(shared, name, block) for name, block in blocks.items()}
    temperature = multi.get("sampling_temperature", 2.0)
    try:
        temperature = float(temperature)
    except (TypeError, ValueError):
        raise ConfigError(f"sampling_temperature must be a number; got {temperature!r}.") from None
    return MultiTaskConfig(tasks=runs, model=shared.model, strategy=shared.strategy, training=shared.training,
                           output_dir=shared.output_dir, sampling=multi.get("sampling", "temperature"),
                           sampling_temperature=temperature, weights=weights)


def multi_task_config_to_dict(config: MultiTaskConfig) -> dict:
    """The shape ``load_multi_task_config`` reads: shared keys flat, then ``tasks:``."""
    shared = {"model": config.model, "strategy": config.strategy, "output_dir": config.output_dir,
              "sampling": config.sampling, "sampling_temperature": config.sampling_temperature,
              **dataclasses.asdict(config.training)}
    tasks = {}
    for name, run in config.tasks.items():
        flat = config_to_dict(run)
        block = {k: flat[k] for k in (*_TASK_KEYS, *PER_TASK_TRAINING)}
        if name in config.weights:
            block["weight"] = config.weights[name]
        tasks[name] = block
    return {**shared, "tasks": tasks}

"""Typed configuration: dataclasses, YAML as the file format, ``key=value`` overrides.

One flat namespace: a YAML file or an override names any field of ``RunConfig`` or of its
``training`` (``TrainConfig``), e.g. ``strategy=lora epochs=2``.
"""
from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import ConfigError
from .strategies import STRATEGIES
from .task_types import TASK_TYPES

__all__ = ["TrainConfig", "RunConfig", "load_run_config", "config_from_command_line", "config_to_dict"]


@dataclass
class TrainConfig:
    """Hyperparameters of one training run. ``None`` means "the strategy's default"."""

    epochs: int = 3
    batch_size: int = 16
    eval_batch_size: int = 64
    learning_rate: float | None = None  # full 3e-5, lora 5e-4, frozen head 1e-2, scratch 1e-4
    head_learning_rate: float | None = None  # full/lora: a separate (usually higher) rate for the head
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = 128
    gradient_accumulation_steps: int = 1
    max_grad_norm: float = 1.0
    early_stopping_patience: int | None = 2  # epochs without improvement; None trains all epochs
    seed: int = 42
    group_by_length: bool = True
    pooling: str | None = None  # None: the architecture table's choice
    dropout: float = 0.1
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    window_overlap: int = 16  # NER: words shared by consecutive windows of a sentence longer than max_length
    head: str = "linear"  # frozen only: "linear" (gradient descent) or "sklearn" (LogisticRegression)
    class_weights: str = "auto"  # "auto" (spam: on when the minority class is under 25%), "on", "off"
    target_precision: float | None = None  # spam: pick the threshold reaching this precision
    temperature_scaling: bool = False  # classification: fit a softmax temperature on validation (calibration)
    progress: bool = True
    gradient_checkpointing: bool = False  # recompute activations in backward: less memory, ~30% slower
    auto_batch_size: bool = True  # on out-of-memory before the first step: halve batch_size, double accumulation
    checkpoint_every_steps: int | None = None  # full training state every N optimizer steps
    checkpoint_every_epoch: bool = False  # ... and/or at the end of every epoch
    checkpoint_limit: int = 2  # newest checkpoints kept
    resume_from_checkpoint: str | None = None  # "latest" (under output_dir/checkpoints) or a checkpoint folder
    logging_steps: int = 10  # optimizer steps between rows of metrics.jsonl
    report_to: str = "none"  # also log to "tensorboard", "mlflow" or both ("tensorboard,mlflow")

    def __post_init__(self):
        _check_choice("head", self.head, ("linear", "sklearn"))
        _check_choice("class_weights", self.class_weights, ("auto", "on", "off"))
        if self.pooling is not None:
            _check_choice("pooling", self.pooling, ("mean", "cls", "last"))
        for name in ("epochs", "batch_size", "eval_batch_size", "max_length", "gradient_accumulation_steps",
                     "checkpoint_limit", "logging_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.checkpoint_every_steps is not None and self.checkpoint_every_steps < 1:
            raise ConfigError(f"checkpoint_every_steps must be at least 1 or none; got {self.checkpoint_every_steps}.")
        if self.target_precision is not None and not 0 < self.target_precision <= 1:
            raise ConfigError(f"target_precision must be in (0, 1], got {self.target_precision}.")


@dataclass
class RunConfig:
    """One run of a task script or of ``nlptransfer train``."""

    task: str = "sentiment"
    model: str = "minilm-l6"
    strategy: str = "full"
    train: str | None = None
    validation: str | None = None
    test: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    tokens_column: str = "tokens"  # NER, JSONL/DataFrame/Dataset: the list of words
    tags_column: str = "tags"  # NER: the list of tags
    tag_column_index: int = -1  # NER, CoNLL column files: which column holds the tag
    repair_tags: bool = False  # NER: turn I-X that continues no entity into B-X (with a warning)
    output_dir: str = "runs/latest"
    training: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self):
        _check_choice("task", self.task, TASK_TYPES)
        _check_choice("strategy", self.strategy, STRATEGIES)


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")


def _coerce(key: str, raw, hint):
    """Turn ``raw`` (from YAML or a command line string) into the field's declared type."""
    args = typing.get_args(hint)
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), hint)
    if raw is None or (optional and isinstance(raw, str) and raw.lower() in ("none", "null", "")):
        if optional:
            return None
        raise ConfigError(f"{key} cannot be empty.")
    try:
        if base is bool:
            if isinstance(raw, bool):
                return raw
            if str(raw).lower() in ("1", "true", "yes", "on"):
                return True
            if str(raw).lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if base is int and isinstance(raw, float) and not raw.is_integer():
            raise ValueError(raw)
        return base(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be of type {getattr(base, '__name__', base)}; got {raw!r}.") from None


def _fields(cls) -> dict:
    return {f.name: typing.get_type_hints(cls)[f.name] for f in dataclasses.fields(cls)}


def load_run_config(path: str | Path | None = None, overrides: list[str] | tuple = (), **fixed) -> RunConfig:
    """Read a YAML file (optional), apply ``key=value`` overrides, then ``fixed`` values."""
    values: dict = {}
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"Config file {str(path)!r} does not exist.")
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"Config file {str(path)!r} must hold a mapping of key: value lines.")
        values.update(loaded.pop("training", None) or {})
        values.update(loaded)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"Override {item!r} must look like key=value, e.g. strategy=lora.")
        key, raw = item.split("=", 1)
        values[key.strip()] = raw
    values.update(fixed)

    run_fields, train_fields = _fields(RunConfig), _fields(TrainConfig)
    run_kwargs, train_kwargs = {}, {}
    for key, raw in values.items():
        if key in run_fields and key != "training":
            run_kwargs[key] = _coerce(key, raw, run_fields[key])
        elif key in train_fields:
            train_kwargs[key] = _coerce(key, raw, train_fields[key])
        else:
            close = difflib.get_close_matches(key, [*run_fields, *train_fields], n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"Unknown config key {key!r}{' in ' + str(path) if path else ''}.{hint}")
    return RunConfig(**run_kwargs, training=TrainConfig(**train_kwargs))


def config_from_command_line(argv: list[str] | None = None, description: str | None = None) -> RunConfig:
    """A task script's command line: ``--config FILE.yaml``, ``--resume-from-checkpoint``,
    ``--report-to`` and ``key=value`` overrides of any field."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", help="YAML file of RunConfig/TrainConfig fields")
    parser.add_argument("--resume-from-checkpoint", help="latest (under output_dir/checkpoints) or a checkpoint folder")
    parser.add_argument("--report-to", help="tensorboard, mlflow or both, comma-separated (metrics.jsonl always)")
    parser.add_argument("overrides", nargs="*", help="key=value, e.g. strategy=lora epochs=2")
    args = parser.parse_args(argv)
    flags = {"resume_from_checkpoint": args.resume_from_checkpoint, "report_to": args.report_to}
    return load_run_config(args.config, args.overrides, **{k: v for k, v in flags.items() if v})


def config_to_dict(config: RunConfig) -> dict:
    """Flat dict, the same shape ``load_run_config`` reads."""
    flat = {k: v for k, v in dataclasses.asdict(config).items() if k != "training"}
    flat.update(dataclasses.asdict(config.training))
    return flat

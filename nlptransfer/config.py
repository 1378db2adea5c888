"""Typed configuration: dataclasses, YAML as the file format, ``key=value`` overrides.

One flat namespace: a YAML file or an override names any field of ``RunConfig`` or of its
``training`` (``TrainConfig``), e.g. ``strategy=lora epochs=2``.
"""
from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass
from pathlib import Path

import yaml

from .config_fields import check_fields, describe_range, option, parse_budget
from .errors import ConfigError
from .strategies import AUTO, STRATEGIES
from .task_types import TASK_TYPES

__all__ = ["TrainConfig", "RunConfig", "load_run_config", "read_config_values", "config_from_command_line",
           "config_to_dict", "describe_options"]


@dataclass
class TrainConfig:
    """Hyperparameters of one training run. ``None`` means "the strategy's default"."""

    epochs: int | None = option(None, "passes over the training data; none: chosen from its size (at least "
                                "min_steps optimizer steps, 3 to 60 epochs); early stopping may end sooner", low=1)
    min_steps: int | None = option(None, "with epochs unset: the optimizer steps the chosen epochs reach at least; "
                                   "none: the task type's (500; ner 1000)", low=1)
    batch_size: int = option(16, "examples per batch and process", low=1)
    eval_batch_size: int = option(64, "examples per batch when predicting", low=1)
    learning_rate: float | None = option(None, "none: the strategy's default (full 3e-5, lora 5e-4, frozen head "
                                         "1e-2, scratch 1e-4)", low=0, low_open=True)
    head_learning_rate: float | None = option(None, "the head's own (usually higher) rate", low=0, low_open=True)
    weight_decay: float = option(0.01, "AdamW decay (never on biases and norms)", low=0)
    warmup_ratio: float = option(0.1, "share of the optimizer steps with a linearly rising learning rate",
                                 low=0, high=1, high_open=True)
    max_length: int = option(128, "tokens per text (NER: per window); at most what the model takes", low=4)
    long_texts: str = option("truncate", "texts over max_length: truncate (keep the start), head_tail (keep "
                             "the start and the end), chunks (score overlapping windows and pool)",
                             choices=("truncate", "head_tail", "chunks"))
    gradient_accumulation_steps: int = option(1, "micro-batches per optimizer step", low=1)
    max_grad_norm: float = option(1.0, "gradient clipping norm", low=0, low_open=True)
    early_stopping_patience: int | None = option(3, "epochs without a better validation score before stopping; "
                                                 "none trains every epoch", low=1)
    seed: int = option(42, "seed of weights, dropout and data order", low=0, high=4294967295)
    group_by_length: bool = option(True, "batch texts of similar length together (less padding)")
    pooling: str | None = option(None, "none: the architecture table's choice", choices=("mean", "cls", "last"))
    dropout: float = option(0.1, "dropout before the head", low=0, high=1, high_open=True)
    lora_r: int = option(8, "LoRA rank", low=1)
    lora_alpha: int = option(16, "LoRA scaling (alpha / r)", low=1)
    lora_dropout: float = option(0.1, "dropout on the LoRA path", low=0, high=1, high_open=True)
    window_overlap: int = option(16, "NER: words shared by consecutive windows of a long sentence", low=0)
    head: str | None = option(None, "frozen/contrastive: sklearn (LogisticRegression, C chosen on validation; "
                              "the default) or linear (gradient descent)", choices=("linear", "sklearn"))
    head_init: str = option("random", "full/partial/gradual/lora: random, or probe (the head starts as a "
                            "LogisticRegression fitted on the pretrained features: LP-FT)", choices=("random", "probe"))
    freeze_layers: int | None = option(None, "partial: embeddings and the bottom k blocks stay frozen; negative k: "
                                       "train only the top |k|; none: half the blocks")
    unfreeze_every: int | None = option(None, "gradual: optimizer steps between blocks joining; none: one per "
                                        "epoch, shortened so all have joined by half-way", low=1)
    adapt: str = option("none", "task: first continue pretraining (masked or causal LM) on the training texts "
                        "(task-adaptive pretraining)", choices=("none", "task"))
    adapt_epochs: int | None = option(None, "adapt=task: passes over the texts; none: chosen as for epochs", low=1)
    augment: str = option("none", "train only: eda (random word swap/deletion/insertion; NER: on O words only), mlm "
                          "(words replaced by augment_model's masked-LM guesses) or, for ner, mention (entity "
                          "mentions swapped for others of their type)", choices=("none", "eda", "mlm", "mention"))
    augment_copies: int = option(1, "augment: augmented copies of each training example", low=1)
    augment_model: str | None = option(None, "augment=mlm: a checkpoint with a masked-LM head (e.g. a folder "
                                       "written by nlptransfer adapt)")
    layerwise_lr_decay: float | None = option(None, "block i of L learns at learning_rate * decay^(L-i), the "
                                              "embeddings at decay^L; e.g. 0.9", low=0, low_open=True, high=1)
    contrastive_pairs: int | None = option(None, "contrastive: pairs; none: 20 per labelled text, at most 2000", low=2)
    class_weights: str = option("auto", "auto (on when a binary minority is under 25%)", choices=("auto", "on", "off"))
    target_precision: float | None = option(None, "spam: lowest threshold with this validation precision", low=0,
                                            high=1, low_open=True)
    temperature_scaling: bool = option(False, "classification: fit a softmax temperature on validation")
    progress: bool = option(True, "progress bars")
    gradient_checkpointing: bool = option(False, "recompute activations in backward: less memory, ~30% slower")
    auto_batch_size: bool = option(True, "out of memory before the first step: halve batch, double accumulation")
    checkpoint_every_steps: int | None = option(None, "save the training state every N optimizer steps", low=1)
    checkpoint_every_epoch: bool = option(False, "save the full training state at the end of every epoch")
    checkpoint_limit: int = option(2, "newest training-state checkpoints kept", low=1)
    resume_from_checkpoint: str | None = option(None, "latest (under output_dir/checkpoints) or a checkpoint folder")
    overwrite_output_dir: bool = option(False, "replace the run already in output_dir instead of refusing")
    self_contained: bool = option(False, "frozen and LoRA: save the base weights, not a checked reference to them")
    logging_steps: int = option(10, "optimizer steps between rows of metrics.jsonl", low=1)
    report_to: str = option("none", "also log to tensorboard, mlflow or both (tensorboard,mlflow)")
    budget: str | None = option(None, "strategy or model auto: the longest training to wait for, as 90s, 30m or 2h; "
                                "none: no limit")
    auto_candidates: int = option(2, "auto: ranked candidates to train (the classic model trains too)", low=1)

    def __post_init__(self):
        check_fields(self)
        parse_budget(self.budget)
        for name in self.report_to.split(","):
            if name.strip() not in ("", "none", "tensorboard", "mlflow"):
                raise ConfigError(f"report_to: unknown tracker {name.strip()!r}; choose from tensorboard, mlflow.")


@dataclass
class RunConfig:
    """One run of a task script or of ``nlptransfer train``."""

    task: str = option("sentiment", "sentiment, spam or ner", choices=tuple(TASK_TYPES))
    model: str = option("minilm-l6", "hub id, local folder or alias (minilm-l6 works offline); with strategy auto "
                        "also auto (the offline aliases) or a comma-separated list of candidates")
    strategy: str = option("full", "what trains: " + "; ".join(f"{s.name}: {s.trains}" for s in STRATEGIES.values())
                           + f"; {AUTO}: rank these, train the best few and keep the best on validation",
                           choices=(*STRATEGIES, AUTO))
    train: str | None = option(None, "training data: CSV/TSV(.gz), JSONL; NER: CoNLL or JSONL")
    validation: str | None = option(None, "validation data: early stopping, threshold, calibration")
    test: str | None = option(None, "test data, scored after training")
    text_column: str = option("text", "column of the texts")
    label_column: str = option("label", "column of the labels")
    tokens_column: str = option("tokens", "NER, JSONL/DataFrame/Dataset: the list of words")
    tags_column: str = option("tags", "NER: the list of tags")
    tag_column_index: int = option(-1, "NER, CoNLL column files: which column holds the tag (-1: the last)")
    repair_tags: bool = option(False, "NER: turn I-X that continues no entity into B-X (with a warning)")
    output_dir: str = option("runs/latest", "run folder: the model, metrics and logs")
    training: TrainConfig = option(None, "hyperparameters", factory=TrainConfig)

    def __post_init__(self):
        check_fields(self)
        plan = STRATEGIES.get(self.strategy)
        if self.task == "ner" and plan is not None and plan.classification_only:
            raise ConfigError(f"strategy {self.strategy!r} is for text classification; for ner use one of "
                              f"{', '.join(n for n, s in STRATEGIES.items() if not s.classification_only)}.")
        if self.training.augment == "mention" and self.task != "ner":
            raise ConfigError(f"augment=mention replaces entity mentions, so it is for task ner; for {self.task} use "
                              f"augment=eda.")
        if self.training.augment == "mlm" and self.training.augment_model is None:
            raise ConfigError("augment=mlm needs augment_model=: the masked LM that proposes the replacement words "
                              "(e.g. a folder written by nlptransfer adapt).")
        if self.training.adapt != "none" and plan is not None and not plan.pretrained:
            raise ConfigError(f"adapt={self.training.adapt} continues a checkpoint's pretraining; strategy "
                              f"{self.strategy!r} does not start from one. Use adapt=none or a pretrained strategy.")


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


def read_config_values(path: str | Path | None = None, overrides: list[str] | tuple = ()) -> dict:
    """The keys of a YAML file (optional; a ``training:`` block is flattened into it), then the
    ``key=value`` overrides, unchecked: the loaders check them against their fields."""
    values: dict = {}
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"Config file {str(path)!r} does not exist.")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise ConfigError(f"Config file {str(path)!r} is not valid YAML{where}: "
                              f"{getattr(e, 'problem', None) or e}. Each line should read key: value.") from None
        except UnicodeDecodeError as e:
            raise ConfigError(f"Config file {str(path)!r} is not UTF-8 text (byte {e.start}); save it as UTF-8.") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"Config file {str(path)!r} must hold a mapping of key: value lines.")
        values.update(loaded.pop("training", None) or {})
        values.update(loaded)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"Override {item!r} must look like key=value, e.g. strategy=lora.")
        key, raw = item.split("=", 1)
        values[key.strip()] = raw
    return values


def load_run_config(path: str | Path | None = None, overrides: list[str] | tuple = (), **fixed) -> RunConfig:
    """Read a YAML file (optional), apply ``key=value`` overrides, then ``fixed`` values."""
    values = {**read_config_values(path, overrides), **fixed}

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


def describe_options() -> str:
    """Every option a YAML file or ``key=value`` can set: name, type, default, accepted values, help."""
    lines = []
    for cls in (RunConfig, TrainConfig):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name == "training":
                continue
            kind = " | ".join("none" if a is type(None) else a.__name__ for a in typing.get_args(hints[f.name]))
            default = f.default
            shown = str(default).lower() if default is None or isinstance(default, bool) else str(default)
            accepts = " | ".join(f.metadata["choices"]) if f.metadata.get("choices") else describe_range(f.metadata)
            lines.append(f"{f.name:28} {kind or hints[f.name].__name__:13} {shown:12} "
                         f"{'[' + accepts + '] ' if accepts else ''}{f.metadata['help']}")
    return "\n".join(lines)


def config_to_dict(config: RunConfig) -> dict:
    """Flat dict, the same shape ``load_run_config`` reads."""
    flat = {k: v for k, v in dataclasses.asdict(config).items() if k != "training"}
    flat.update(dataclasses.asdict(config.training))
    return flat

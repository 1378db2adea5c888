"""Strategies decide which weights train: ``full``, ``frozen``, ``lora`` or ``scratch`` (the
same architecture with random weights, all trained: the baseline that shows what transfer adds).

Each is a small function over a ``TaskModel``-like module with ``backbone`` and the head.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

from torch import nn

from .architectures import HEAD_NAME, Architecture
from .config import TrainConfig

__all__ = ["apply_strategy", "ParameterCount", "count_parameters", "optimizer_groups", "default_learning_rate"]

# frozen: a linear head on cached features tolerates (and needs) a much larger step
# scratch: random weights need larger steps than pretrained ones
DEFAULT_LR = {"full": 3e-5, "lora": 5e-4, "frozen": 1e-2, "scratch": 1e-4}


def default_learning_rate(strategy: str, config: TrainConfig) -> float:
    return config.learning_rate if config.learning_rate is not None else DEFAULT_LR[strategy]


def apply_strategy(model: nn.Module, strategy: str, arch: Architecture, config: TrainConfig) -> nn.Module:
    """Set ``requires_grad`` (and for LoRA wrap the backbone with peft); returns ``model``."""
    if strategy in ("full", "scratch"):
        model.requires_grad_(True)
    elif strategy == "frozen":
        model.requires_grad_(False)
        getattr(model, HEAD_NAME).requires_grad_(True)
    elif strategy == "lora":
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
            target_modules=list(arch.lora_targets) if isinstance(arch.lora_targets, tuple) else arch.lora_targets,
            fan_in_fan_out=arch.fan_in_fan_out, bias="none",
        )
        # Only the backbone is given to peft: the head stays a plain, trainable module of ours.
        with warnings.catch_warnings():  # peft calls a transformers API deprecated in v5
            warnings.simplefilter("ignore", FutureWarning)
            model.backbone = get_peft_model(model.backbone, lora)
        getattr(model, HEAD_NAME).requires_grad_(True)
    else:
        raise ValueError(f"strategy must be full, frozen, lora or scratch; got {strategy!r}")
    return model


@dataclass(frozen=True)
class ParameterCount:
    trainable: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.trainable / max(self.total, 1)

    def __str__(self):  # the line PEFT prints, so users can compare
        return f"trainable params: {self.trainable:,d} || all params: {self.total:,d} || trainable%: {self.percent:.4f}"


def count_parameters(model: nn.Module) -> ParameterCount:
    params = list(model.parameters())
    return ParameterCount(sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params))


def optimizer_groups(model: nn.Module, lr: float, head_lr: float | None, weight_decay: float) -> list[dict]:
    """AdamW groups: biases and norm weights (1-D tensors) get no weight decay; the head may get
    its own learning rate."""
    groups: dict[tuple, dict] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        is_head = name.startswith(HEAD_NAME + ".")
        decay = weight_decay if param.ndim >= 2 else 0.0
        rate = head_lr if (is_head and head_lr is not None) else lr
        groups.setdefault((rate, decay), {"params": [], "lr": rate, "weight_decay": decay})["params"].append(param)
    return list(groups.values())

"""The task model: a Hugging Face backbone, pooling, and a linear head; and building it.

Every task, family and strategy uses this one module, so training, prediction and saving have a
single code path. Text classification pools one vector per text; token classification (NER) uses
``pooling="none"`` and gets one logit vector per token. ``forward(features=...)`` skips the
backbone: the frozen strategy trains the head on cached features through the very same module it
later predicts with.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError
from ..strategies import ParameterCount, count_parameters, strategy
from .architectures import HEAD_NAME, Architecture
from .pretrained import load_backbone, load_tokenizer, max_input_length, model_architecture

__all__ = ["pool", "TaskModel", "Built", "load_parts", "apply_strategy", "build_task_model"]


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, how: str) -> torch.Tensor:
    """(batch, tokens, hidden) -> (batch, hidden); "none" keeps every token.

    "last" takes the last position whose mask is 1, so it is right for left and right padding and
    never lands on a pad token even when pad == eos.
    """
    if how == "none":
        return hidden
    if how == "cls":
        return hidden[:, 0]
    if how == "mean":
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    if how == "last":
        positions = torch.arange(attention_mask.shape[1], device=attention_mask.device)
        last = (attention_mask * positions).argmax(-1)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise ValueError(f"unknown pooling {how!r}")


class TaskModel(nn.Module):
    """backbone -> pool (-> unit length, for strategies that trained on cosine similarity) -> dropout ->
    ``head`` (nn.Linear).

    Returns logits (batch, num_labels), or (batch, tokens, num_labels) with ``pooling="none"``.
    """

    def __init__(self, backbone: nn.Module, num_labels: int, pooling: str, dropout: float = 0.1,
                 unit_features: bool = False):
        super().__init__()
        self.backbone = backbone
        self.pooling, self.unit_features = pooling, unit_features
        self.layer_spec = None  # (blocks, embeddings, model type, head name): set by build_task_model
        self.dropout = nn.Dropout(dropout)
        hidden = backbone.config.hidden_size
        setattr(self, HEAD_NAME, nn.Linear(hidden, num_labels))

    @property
    def classifier_head(self) -> nn.Linear:
        return getattr(self, HEAD_NAME)

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = pool(hidden, attention_mask, self.pooling)
        return nn.functional.normalize(pooled, dim=-1) if self.unit_features else pooled

    def forward(self, input_ids=None, attention_mask=None, features=None) -> torch.Tensor:
        if features is None:
            features = self.features(input_ids, attention_mask)
        return self.classifier_head(self.dropout(features))


@dataclass
class Built:
    net: TaskModel
    tokenizer: object
    model_type: str
    arch: Architecture
    parameters: ParameterCount


def load_parts(model: str, strategy_name: str, config):
    """(strategy plan, model type, architecture row, tokenizer, backbone) of a checkpoint, with
    ``max_length`` checked against it before the weights load. ``config`` is the run's ``TrainConfig``."""
    plan = strategy(strategy_name)
    model_type, arch = model_architecture(model)
    tokenizer = load_tokenizer(model, arch)
    limit = max_input_length(model, arch, tokenizer)
    if limit is not None and config.max_length > limit:  # checked before the weights load
        raise ConfigError(f"max_length={config.max_length} is more than {model!r} takes ({limit} tokens). Use "
                          f"max_length={limit} or less; long_texts=chunks reads longer texts in pieces.")
    backbone = load_backbone(model, arch, tokenizer.pad_token_id, pretrained=plan.pretrained)
    if config.gradient_checkpointing and not plan.caches_features:
        # Non-reentrant: works with frozen inputs (LoRA) without enable_input_require_grads.
        backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return plan, model_type, arch, tokenizer, backbone


def apply_strategy(net: nn.Module, plan, arch: Architecture, model_type: str, config) -> None:
    """``plan`` applied to a module with ``backbone`` and ``head`` (one head, or one per task)."""
    net.layer_spec = (arch.blocks, arch.embeddings, model_type, HEAD_NAME)
    plan.apply(net, arch, config)
    for name, param in net.backbone.named_parameters():
        if ".pooler." in f".{name}":  # never used (we pool ourselves); trainable, DDP would reject it
            param.requires_grad_(False)


def build_task_model(model: str, num_labels: int, strategy_name: str, config, *, pooling: str | None = None) -> Built:
    """Tokenizer + backbone + head, with the strategy applied. ``pooling`` overrides the table
    (``"none"`` for token classification); ``config`` is the run's ``TrainConfig``."""
    plan, model_type, arch, tokenizer, backbone = load_parts(model, strategy_name, config)
    net = TaskModel(backbone, num_labels, pooling or config.pooling or arch.pooling, config.dropout,
                    unit_features=plan.unit_features)
    apply_strategy(net, plan, arch, model_type, config)
    return Built(net, tokenizer, model_type, arch, count_parameters(net))

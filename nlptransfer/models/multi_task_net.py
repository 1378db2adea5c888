"""One backbone shared by several tasks, one head per task (hard parameter sharing, the usual
multi-task set-up: Caruana 1997, MT-DNN).

``MultiTaskNet`` keeps the heads in one ``nn.ModuleDict`` under the name every task model uses for
its head, so the strategies (which train ``head`` and some or all of ``backbone``), LoRA (one
adapter on the shared backbone, heads separate) and the model folder (``head.safetensors`` holds
every head, keyed by task) treat it as they treat a ``TaskModel``. ``view(task)`` is an ordinary
``TaskModel`` over the same backbone and that task's head, not a copy: prediction, scoring and
saving one task go through the single-task code unchanged, and an exported task predicts exactly
as it did inside the multi-task model.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..strategies import ParameterCount, count_parameters
from .architectures import HEAD_NAME
from .task_model import TaskModel, apply_strategy, load_parts, pool

__all__ = ["MultiTaskNet", "BuiltMulti", "build_multi_task_net"]


class MultiTaskNet(nn.Module):
    """backbone -> pool as the task says -> dropout -> the task's head.

    ``heads``: task name -> ``{"num_labels": n, "pooling": "mean" | "cls" | "last" | "none"}``
    ("none": one logit vector per token, for NER). ``forward(task, input_ids, attention_mask)``.
    """

    def __init__(self, backbone: nn.Module, heads: dict[str, dict], dropout: float = 0.1):
        super().__init__()
        self.backbone = backbone
        self.layer_spec = None  # set by build_multi_task_net, as for a TaskModel
        self.heads_spec = {name: dict(spec) for name, spec in heads.items()}
        self.dropout = nn.Dropout(dropout)
        hidden = backbone.config.hidden_size
        setattr(self, HEAD_NAME, nn.ModuleDict({name: nn.Linear(hidden, spec["num_labels"])
                                                for name, spec in heads.items()}))

    @property
    def classifier_head(self) -> nn.ModuleDict:
        return getattr(self, HEAD_NAME)

    def forward(self, task: str, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = pool(hidden, attention_mask, self.heads_spec[task]["pooling"])
        return self.classifier_head[task](self.dropout(pooled))

    def view(self, task: str) -> TaskModel:
        """The single-task model of ``task``: this backbone and this task's head (shared, not copied)."""
        spec = self.heads_spec[task]
        view = TaskModel(self.backbone, spec["num_labels"], spec["pooling"], self.dropout.p)
        setattr(view, HEAD_NAME, self.classifier_head[task])
        view.layer_spec = self.layer_spec
        return view.train(self.training)


@dataclass
class BuiltMulti:
    net: MultiTaskNet
    tokenizer: object
    model_type: str
    parameters: ParameterCount


def build_multi_task_net(model: str, heads: dict[str, dict], strategy_name: str, config) -> BuiltMulti:
    """Tokenizer + shared backbone + one head per task, with the strategy applied. A head's
    ``pooling`` of None takes ``config.pooling`` or the architecture table's choice."""
    plan, model_type, arch, tokenizer, backbone = load_parts(model, strategy_name, config)
    resolved = {name: {**spec, "pooling": spec.get("pooling") or config.pooling or arch.pooling}
                for name, spec in heads.items()}
    net = MultiTaskNet(backbone, resolved, config.dropout)
    apply_strategy(net, plan, arch, model_type, config)
    return BuiltMulti(net, tokenizer, model_type, count_parameters(net))

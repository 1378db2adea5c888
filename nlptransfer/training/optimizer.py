"""Parameter groups for AdamW."""
from __future__ import annotations

from ..models.architectures import HEAD_NAME

__all__ = ["optimizer_groups"]


def optimizer_groups(model, lr: float, head_lr: float | None, weight_decay: float) -> list[dict]:
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

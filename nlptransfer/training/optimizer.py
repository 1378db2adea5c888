"""Parameter groups for AdamW."""
from __future__ import annotations

from ..layer_map import layer_map
from ..models.architectures import HEAD_NAME

__all__ = ["optimizer_groups", "describe_rates"]


def optimizer_groups(model, lr: float, head_lr: float | None, weight_decay: float,
                     layer_decay: float | None = None) -> list[dict]:
    """AdamW groups: biases and norm weights (1-D tensors) get no weight decay; the head may get
    its own learning rate; with ``layer_decay`` each block learns at ``lr`` times its factor
    (``LayerMap.factor``). Each group names its layer ("embeddings", "block 3", "top", "head")."""
    layers = layer_map(model) if layer_decay is not None else None
    groups: dict[tuple, dict] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        is_head = name.startswith(HEAD_NAME + ".")
        decay = weight_decay if param.ndim >= 2 else 0.0
        rate, where = (head_lr if (is_head and head_lr is not None) else lr), "head" if is_head else "backbone"
        if layers is not None and not is_head:
            depth = layers.depth[name]
            rate *= layers.factor(depth, layer_decay)
            where = "embeddings" if depth == 0 else f"block {depth}" if depth <= layers.n_blocks else "top"
        group = groups.setdefault((where, rate, decay), {"params": [], "lr": rate, "weight_decay": decay, "layer": where})
        group["params"].append(param)
    return list(groups.values())


def describe_rates(groups: list[dict]) -> str:
    """One line: each layer's learning rate, bottom to top."""
    rates = dict.fromkeys((g["layer"], g["lr"]) for g in groups)
    return "layer-wise learning rates: " + ", ".join(f"{layer} {lr:.2e}" for layer, lr in rates)

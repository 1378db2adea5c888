"""Depth of every parameter of a task model, from the architecture table's layer map.

    0        the embeddings
    1 .. L   transformer block 1 (bottom) to L (top)
    L + 1    the rest of the backbone above the blocks (final norms, shared position biases)
    None     the task head

Found by parameter name, so a LoRA-wrapped backbone (``backbone.base_model.model.encoder.layer.3
...``) maps exactly as a plain one does.
"""
from __future__ import annotations

import re

from .errors import ConfigError

__all__ = ["LayerMap", "layer_map"]


class LayerMap:
    def __init__(self, names: list[str], blocks: str, embeddings: tuple[str, ...], model_type: str, head: str):
        block = re.compile(r"(?:^|\.)" + re.escape(blocks) + r"\.(\d+)\.")
        embedding = re.compile(r"(?:^|\.)(?:" + "|".join(map(re.escape, embeddings)) + r")(?:\.|$)")
        found = {name: int(m[1]) for name in names if (m := block.search(name))}
        if not found:
            raise ConfigError(f"no transformer blocks at '{blocks}' in this {model_type!r} model: partial freezing "
                              f"and layer-wise learning rates need its layer map. Add blocks= and embeddings= to "
                              f"its row in nlptransfer/models/architectures.py.")
        self.n_blocks = max(found.values()) + 1
        self.depth: dict[str, int | None] = {}
        for name in names:
            if name.startswith(head + "."):
                self.depth[name] = None
            elif name in found:
                self.depth[name] = found[name] + 1
            elif embedding.search(name):
                self.depth[name] = 0
            else:
                self.depth[name] = self.n_blocks + 1


    def factor(self, depth: int | None, decay: float) -> float:
        """Layer-wise decay: the top block (and what sits above it) 1, each block below one more
        factor of ``decay``, the embeddings ``decay ** n_blocks``; the head (None) 1."""
        return 1.0 if depth is None else decay ** max(self.n_blocks - depth, 0)


def layer_map(net) -> LayerMap:
    """The map of a ``TaskModel`` (or a module sharing its backbone and ``layer_spec``:
    (blocks path, embedding names, model type, head name), set when the model is built)."""
    spec = getattr(net, "layer_spec", None)
    if spec is None:
        raise ConfigError("this model has no layer map (it was not built by build_task_model).")
    return LayerMap([name for name, _ in net.named_parameters()], *spec)

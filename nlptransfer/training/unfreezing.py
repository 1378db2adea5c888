"""Gradual unfreezing (ULMFiT, Howard & Ruder 2018) for ``strategy="gradual"``: the head trains
alone first, then one more transformer block joins at each stage from the top down, the
embeddings last.

Every parameter is in the optimizer from the start and requires gradients, so DDP registers the
same parameters on every process and the learning-rate schedule is the one ``full`` uses. A
parameter that has not joined yet has its gradient dropped after backward (where DDP has already
averaged it) and before clipping and the optimizer step: AdamW neither moves it (not even by
weight decay) nor starts its moments, and it stays bit-identical until its stage. AdamW keeps a
step count per parameter, so a late joiner's moments are bias-corrected from its own first step.
The stage is a function of the optimizer step alone, so a run resumed from a checkpoint is at the
stage an uninterrupted run would be.
"""
from __future__ import annotations

from ..layer_map import layer_map

__all__ = ["GradualUnfreezing"]


class GradualUnfreezing:
    """Stage 0 trains the head; stage s >= 1 adds the top s blocks (the backbone's top-most
    modules, such as a final norm, join with the top block); stage L + 1 adds the embeddings.

    ``steps_per_stage`` unset: one stage per epoch, as ULMFiT, unless that would leave the bottom
    of the network untrained for most of the run; then the stages are shortened so that every
    block has joined by half-way through training."""

    def __init__(self, model, *, per_epoch: int, updates: int, steps_per_stage: int | None = None):
        layers = layer_map(model)
        self.n_blocks = layers.n_blocks
        self.params = [(layers.depth[name], p) for name, p in model.named_parameters() if p.requires_grad]
        last_stage = self.n_blocks + 1
        self.steps_per_stage = steps_per_stage or max(1, min(per_epoch, (updates // 2) // last_stage))

    def stage(self, step: int) -> int:
        """The stage of the optimizer step that follows ``step`` finished steps."""
        return min(step // self.steps_per_stage, self.n_blocks + 1)

    def everything_joined(self, step: int) -> bool:
        return self.stage(step) == self.n_blocks + 1

    def lowest_depth(self, step: int) -> int:
        """Parameters at this depth (``layer_map``: 0 embeddings, 1..L blocks, L+1 above) and up train."""
        stage = self.stage(step)
        return self.n_blocks + 2 if stage == 0 else self.n_blocks + 1 - stage

    def drop_frozen_gradients(self, step: int) -> None:
        lowest = self.lowest_depth(step)
        for depth, param in self.params:
            if depth is not None and depth < lowest:
                param.grad = None

    def describe(self, step: int) -> str:
        stage = self.stage(step)
        if stage == 0:
            return "head only"
        if stage <= self.n_blocks:
            return f"head + top {stage} of {self.n_blocks} blocks"
        return "everything"

    def plan(self) -> str:
        s = self.steps_per_stage
        return (f"gradual: the head alone, then one more block from the top every {s} optimizer steps "
                f"(all {self.n_blocks} blocks from step {s * self.n_blocks}, the embeddings from step "
                f"{s * (self.n_blocks + 1)}; unfreeze_every= sets the interval)")

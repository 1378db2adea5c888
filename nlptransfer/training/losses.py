"""Losses as sums with the weight they are normalised by.

The loop divides the summed loss of every micro-batch by the mean weight of an optimizer step over
the epoch (``training.loop.step_weight``), the same for every step, so k micro-batches on N
processes make exactly the update of one batch k x N times larger, and every labelled token weighs
alike whichever batch it is in. A per-micro-batch mean would not: an NER micro-batch with 40
labelled tokens would weigh as much as one with 400, and a class-weighted mean would divide by one
micro-batch's weight sum.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..data.word_windows import IGNORE as IGNORE_INDEX  # positions that are not scored (sub-tokens, padding)

__all__ = ["SummedCrossEntropy", "NextTokenCrossEntropy", "SummedSquaredError", "PerTaskMean"]


class SummedCrossEntropy:
    """Cross-entropy summed over the labelled positions, optionally class-weighted.

    ``loss(logits, labels)``: logits (..., C) with labels (...); positions labelled
    ``IGNORE_INDEX`` are skipped. ``loss.weight(labels)``: what the sum is normalised by, the
    count of labelled positions or, with class weights, the sum of their weights (as PyTorch's
    weighted mean divides by).
    """

    def __init__(self, class_weights: torch.Tensor | None = None):
        self.class_weights = class_weights

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        weights = self.class_weights.to(logits.device) if self.class_weights is not None else None
        return F.cross_entropy(logits.flatten(0, -2).float(), labels.flatten(), weight=weights,
                               ignore_index=IGNORE_INDEX, reduction="sum")

    def weight(self, labels: torch.Tensor) -> torch.Tensor:
        labelled = labels.flatten()[labels.flatten() != IGNORE_INDEX]
        if self.class_weights is None:
            return torch.tensor(float(labelled.numel()), device=labels.device)
        return self.class_weights.to(labels.device)[labelled].sum().float()


class NextTokenCrossEntropy(SummedCrossEntropy):
    """Causal language modelling: position t's logits predict the token at t + 1, so logits and
    labels are shifted against each other before the summed cross-entropy (and its weight)."""

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return super().__call__(logits[:, :-1], labels[:, 1:])

    def weight(self, labels: torch.Tensor) -> torch.Tensor:
        return super().weight(labels[:, 1:])


class SummedSquaredError:
    """Squared error between predictions and float targets, summed; normalised by their count.
    With cosine similarities and 1/0 targets this is SetFit's CosineSimilarityLoss."""

    def __call__(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(predictions.float(), targets.float(), reduction="sum")

    def weight(self, targets: torch.Tensor) -> torch.Tensor:
        return torch.tensor(float(targets.numel()), device=targets.device)


class PerTaskMean:
    """Multi-task training: a batch (always of one task) contributes its task's mean loss, the
    task's summed loss over its own weight (labelled tokens for NER, examples or class weights for
    classification), and weighs 1. A step's loss is then the mean of its batches' task means, so
    a task's share of the update is its share of the batches (the sampling rule), never its token
    count: summed over tokens, one NER batch would outweigh dozens of classification batches.

    ``losses``: task name -> its summed loss (``SummedCrossEntropy``, with its class weights);
    labels are ``{"task": name, "labels": tensor}`` (``MultiTaskDataset.collate``).
    """

    def __init__(self, losses: dict):
        self.losses = losses

    def __call__(self, logits: torch.Tensor, labels: dict) -> torch.Tensor:
        loss = self.losses[labels["task"]]
        return loss(logits, labels["labels"]) / loss.weight(labels["labels"]).clamp(min=1e-12)

    def weight(self, labels: dict) -> torch.Tensor:
        return torch.tensor(1.0, device=labels["labels"].device)

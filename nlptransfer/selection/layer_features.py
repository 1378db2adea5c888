"""A frozen backbone's features from every layer, for a sample of the user's data, in one pass.

Texts are pooled the way the architecture table says (mean for encoders, last token for
decoders); NER words are represented by their first sub-token, from the window that owns them,
exactly as the frozen strategy's tagger sees them. Layer 0 is the embedding layer.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..models.inference import extract_features, extract_word_features
from ..models.task_model import pool

__all__ = ["AllLayers", "stratified_sample", "text_layer_features", "word_layer_features"]


class AllLayers(nn.Module):
    """``features`` returns every hidden state side by side: (batch, layers x hidden), or
    (batch, tokens, layers x hidden) with ``pooling="none"``; :func:`split_layers` undoes it."""

    def __init__(self, backbone: nn.Module, pooling: str):
        super().__init__()
        self.backbone, self.pooling = backbone, pooling

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return torch.cat([pool(h, attention_mask, self.pooling) for h in out.hidden_states], dim=-1)


def split_layers(stacked: torch.Tensor, hidden_size: int) -> list[np.ndarray]:
    return [part.numpy() for part in torch.split(stacked.float(), hidden_size, dim=-1)]


def stratified_sample(labels: list, size: int, seed: int) -> list[int]:
    """Row indices, at most ``size``, each label keeping its share (and at least a few rows, so
    that a rare class such as spam can still be cross-validated)."""
    labels = np.asarray(labels, dtype=object)
    if len(labels) <= size:
        return list(range(len(labels)))
    rng = np.random.default_rng(seed)
    keep = []
    for value in dict.fromkeys(labels.tolist()):
        rows = np.flatnonzero(labels == value)
        take = min(len(rows), max(5, round(size * len(rows) / len(labels))))
        keep.extend(rng.choice(rows, take, replace=False).tolist())
    return sorted(keep)


def text_layer_features(built, dataset, collate, accelerator, batch_size: int) -> list[np.ndarray]:
    """One (texts, hidden) array per layer for an ``EncodedDataset`` of whole texts."""
    net = AllLayers(built.net.backbone, built.net.pooling)
    stacked = extract_features(net, dataset, collate, accelerator, batch_size)
    return split_layers(stacked, built.net.backbone.config.hidden_size)


def word_layer_features(built, dataset, collate, accelerator, batch_size: int) -> list[np.ndarray]:
    """One (words, hidden) array per layer for a ``WindowDataset`` of tagged sentences."""
    net = AllLayers(built.net.backbone, "none")
    stacked = extract_word_features(net, dataset, collate, accelerator, batch_size)
    return split_layers(stacked, built.net.backbone.config.hidden_size)

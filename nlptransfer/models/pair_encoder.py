"""The backbone as a sentence encoder for contrastive training: one pooled vector per text (the
architecture's pooling, last-token for decoders), and the cosine similarity of each pair."""
from __future__ import annotations

import torch
from torch import nn

from .task_model import pool

__all__ = ["PairEncoder"]


class PairEncoder(nn.Module):
    """Wraps a task model's backbone (shared, not copied) without its head, so every trainable
    tensor gets a gradient (DDP requires it). ``forward`` returns one similarity per pair."""

    def __init__(self, backbone: nn.Module, pooling: str, layer_spec=None):
        super().__init__()
        self.backbone, self.pooling, self.layer_spec = backbone, pooling, layer_spec

    def forward(self, input_ids, attention_mask, left, right) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        embeddings = pool(hidden, attention_mask, self.pooling)
        return torch.cosine_similarity(embeddings[left], embeddings[right], dim=-1)

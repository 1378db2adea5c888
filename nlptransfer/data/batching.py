"""Tokenised datasets, dynamic padding and length-grouped loaders."""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler
from transformers import DataCollatorWithPadding
from transformers.trainer_pt_utils import LengthGroupedSampler

__all__ = ["EncodedDataset", "FeatureDataset", "encode_texts", "text_collator", "train_loader"]


class EncodedDataset(Dataset):
    """Token ids per example (unpadded) and optional integer labels."""

    def __init__(self, input_ids: list[list[int]], labels: list[int] | None = None):
        self.input_ids = input_ids
        self.labels = labels

    def __len__(self):
        return len(self.input_ids)

    @property
    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.input_ids]

    @property
    def feature_labels(self) -> list[int] | None:
        """The label of each row that pooled feature extraction returns: one per example."""
        return self.labels

    def __getitem__(self, i):
        item = {"input_ids": self.input_ids[i], "attention_mask": [1] * len(self.input_ids[i])}
        if self.labels is not None:
            item["labels"] = self.labels[i]
        return item


class FeatureDataset(Dataset):
    """Cached pooled features (the frozen strategy) with labels."""

    def __init__(self, features: torch.Tensor, labels: list[int]):
        self.features = features
        self.labels = torch.as_tensor(labels)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"features": self.features[i], "labels": self.labels[i]}


def encode_texts(tokenizer, texts: list[str], max_length: int, labels: list[int] | None = None) -> EncodedDataset:
    """Tokenise once, up front, so every epoch reuses the ids."""
    encoded = tokenizer(texts, truncation=True, max_length=max_length, return_attention_mask=False)
    return EncodedDataset(encoded["input_ids"], labels)


def text_collator(tokenizer):
    """Pads each batch to its own longest example (dynamic padding)."""
    return DataCollatorWithPadding(tokenizer, return_tensors="pt")


def train_loader(dataset, batch_size: int, collate, *, generator: torch.Generator, group_by_length: bool) -> DataLoader:
    """Shuffled batches drawn with ``generator``; with ``group_by_length``, examples of similar
    length share a batch so little compute goes to padding (transformers' ``LengthGroupedSampler``).

    accelerate gives every process rank 0's generator state and shards the batches, so the order is
    reproducible for a given seed and process count.
    """
    if group_by_length and hasattr(dataset, "lengths"):
        sampler = LengthGroupedSampler(batch_size, lengths=dataset.lengths, generator=generator)
    else:
        sampler = RandomSampler(dataset, generator=generator)
    # A loader generator of its own: otherwise each new iterator draws its base seed from the global
    # RNG, and a resumed run's dropout masks would drift one draw from the uninterrupted run's.
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate,
                      generator=torch.Generator().manual_seed(0))

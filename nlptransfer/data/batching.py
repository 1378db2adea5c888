"""Tokenised datasets, dynamic padding and length-grouped loaders."""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler
from transformers import DataCollatorWithPadding
from transformers.trainer_pt_utils import get_length_grouped_indices

__all__ = ["EncodedDataset", "FeatureDataset", "encode_texts", "count_over_limit", "text_collator", "train_loader",
           "LengthGroupedBatches"]


class EncodedDataset(Dataset):
    """Token ids per row (unpadded) and optional integer labels.

    A row is a text, or with ``long_texts=chunks`` one window of a long text: ``groups`` maps each
    row to its text (None: one row per text), ``text_labels`` are the labels per text and
    ``over_limit`` counts the texts longer than ``max_length``.
    """

    def __init__(self, input_ids: list[list[int]], labels: list[int] | None = None, *,
                 groups: list[int] | None = None, text_labels: list[int] | None = None, over_limit: int = 0):
        self.input_ids = input_ids
        self.labels = labels
        self.groups = groups
        self.text_labels = text_labels if text_labels is not None else labels
        self.over_limit = over_limit

    def __len__(self):
        return len(self.input_ids)

    @property
    def n_texts(self) -> int:
        return len(self.input_ids) if self.groups is None else max(self.groups) + 1

    @property
    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.input_ids]

    @property
    def feature_labels(self) -> list[int] | None:
        """The label of each row that pooled feature extraction returns: one per row."""
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


def _special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after one text ([CLS] / [SEP], <s> / </s>, none)."""
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    for i in range(len(full) - len(bare) + 1):
        if full[i:i + len(bare)] == bare:
            return full[:i], full[i + len(bare):]
    return [], []


def count_over_limit(tokenizer, texts: list[str], max_length: int) -> int:
    """How many texts have more tokens than ``max_length`` leaves after the special tokens."""
    budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    ids = tokenizer(texts, add_special_tokens=False, return_attention_mask=False, verbose=False)["input_ids"]
    return sum(len(x) > budget for x in ids)


def encode_texts(tokenizer, texts: list[str], max_length: int, labels: list[int] | None = None,
                 long_texts: str = "truncate") -> EncodedDataset:
    """Tokenise once, up front, so every epoch reuses the ids. A text longer than ``max_length``
    tokens is cut to its start (``truncate``), to its start and end (``head_tail``: a quarter
    from the head, the rest from the tail, which Sun et al. 2019 found best for long reviews), or
    split into windows overlapping by a quarter (``chunks``), each a row of its own."""
    budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    bare = tokenizer(texts, add_special_tokens=False, return_attention_mask=False, verbose=False)["input_ids"]
    long = [i for i, ids in enumerate(bare) if len(ids) > budget]
    if long and long_texts == "chunks":
        encoded = tokenizer(texts, truncation=True, max_length=max_length, stride=max_length // 4,
                            return_overflowing_tokens=True, return_attention_mask=False)
        groups = list(encoded["overflow_to_sample_mapping"])
        rows = [labels[g] for g in groups] if labels is not None else None
        return EncodedDataset(_never_empty(tokenizer, encoded["input_ids"]), rows, groups=groups, text_labels=labels, over_limit=len(long))
    ids = tokenizer(texts, truncation=True, max_length=max_length, return_attention_mask=False)["input_ids"]
    if long and long_texts == "head_tail":
        before, after = _special_tokens(tokenizer)
        head = budget // 4
        for i in long:
            ids[i] = before + bare[i][:head] + bare[i][len(bare[i]) - (budget - head):] + after
    return EncodedDataset(_never_empty(tokenizer, ids), labels, over_limit=len(long))


def _never_empty(tokenizer, ids: list[list[int]]) -> list[list[int]]:
    """An empty text is one token long: a tokenizer that adds no special tokens (GPT-2) gives it
    none, and a row of no tokens would be scored by whatever padding its batch-mates brought."""
    if all(ids):
        return ids
    stand_in = next(t for t in (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id,
                                tokenizer.pad_token_id, 0) if t is not None)
    return [row or [stand_in] for row in ids]


def text_collator(tokenizer):
    """Pads each batch to its own longest example (dynamic padding)."""
    return DataCollatorWithPadding(tokenizer, return_tensors="pt")


class LengthGroupedBatches(Sampler):
    """Indices whose consecutive ``batch_size`` slices are batches of similar length, the batches
    in random order.

    Written by hand because transformers' ``LengthGroupedSampler`` (which makes the same batches:
    random mega-batches of up to 50 batches, each sorted by length) leaves every mega-batch's
    batches in sorted order, so an epoch sweeps from the longest texts to the shortest four or
    more times and training ends on a run of the shortest: an order no shuffled pass would give.
    The padding is the same. Measured on SST-2 over five seeds: +0.3 points, inside the seed
    spread (BENCHMARKS.md, "SST-2, five seeds"). Here the batch holding the longest text comes
    first (an out-of-memory error shows at once, as there), the other full batches follow in
    random order, a short last batch last.
    """

    def __init__(self, lengths: list[int], batch_size: int, generator: torch.Generator):
        self.lengths, self.batch_size, self.generator = lengths, batch_size, generator

    def __len__(self):
        return len(self.lengths)

    def __iter__(self):
        order = get_length_grouped_indices(self.lengths, self.batch_size, generator=self.generator)
        size = self.batch_size
        batches = [order[i:i + size] for i in range(0, len(order), size)]
        tail = [batches.pop()] if len(batches[-1]) < size else []
        rest = batches[1:]
        shuffled = [rest[i] for i in torch.randperm(len(rest), generator=self.generator).tolist()]
        return iter([i for batch in batches[:1] + shuffled + tail for i in batch])


def train_loader(dataset, batch_size: int, collate, *, generator: torch.Generator, group_by_length: bool) -> DataLoader:
    """Shuffled batches drawn with ``generator``; with ``group_by_length``, examples of similar
    length share a batch so little compute goes to padding (``LengthGroupedBatches``).

    accelerate gives every process rank 0's generator state and shards the batches, so the order is
    reproducible for a given seed and process count.
    """
    if hasattr(dataset, "batch_sampler"):  # several tasks: one task per batch (data/task_sampling.py)
        return DataLoader(dataset, batch_sampler=dataset.batch_sampler(batch_size, generator), collate_fn=collate,
                          generator=torch.Generator().manual_seed(0))
    if getattr(dataset, "in_order", False):  # rows already shuffled in a structure batches must keep
        sampler = SequentialSampler(dataset)
    elif group_by_length and hasattr(dataset, "lengths"):
        sampler = LengthGroupedBatches(dataset.lengths, batch_size, generator)
    else:
        sampler = RandomSampler(dataset, generator=generator)
    # A loader generator of its own: otherwise each new iterator draws its base seed from the global
    # RNG, and a resumed run's dropout masks would drift one draw from the uninterrupted run's.
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate,
                      generator=torch.Generator().manual_seed(0))

"""Batches for multi-task training: every batch holds examples of one task, and which task comes
next is drawn by a sampling rule.

    proportional  p(task) ~ n            every example seen about once per epoch (MT-DNN)
    temperature   p(task) ~ n ** (1/T)   small tasks drawn more often than their size, large ones
                                         less: T=1 is proportional, large T nearly uniform
                                         (Arivazhagan et al. 2019 use T=5)
    uniform       p(task) = 1 / tasks

One batch is one task, so each task keeps its own padding (NER windows, classification texts),
its own loss and its own normalisation. An epoch is as many batches as one pass over every task
would be; a task drawn more often than its size allows starts a new shuffled pass over its
examples, so an upsampled task repeats whole passes, never a few favourite examples.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch.utils.data import Dataset

from ..multi_task_config import SAMPLING

__all__ = ["SAMPLING", "task_probabilities", "MultiTaskDataset", "TaskBatchSampler"]

def task_probabilities(sizes: dict[str, int], rule: str, temperature: float = 2.0) -> dict[str, float]:
    """The probability of drawing each task's batch next, from the tasks' training-set sizes."""
    if rule not in SAMPLING:
        raise ValueError(f"sampling must be one of {', '.join(SAMPLING)}; got {rule!r}")
    power = {"proportional": 1.0, "temperature": 1.0 / temperature, "uniform": 0.0}[rule]
    raw = {name: float(n) ** power for name, n in sizes.items()}
    total = sum(raw.values())
    return {name: value / total for name, value in raw.items()}


class TaskBatchSampler:
    """Lists of dataset positions, each list from one task. ``generator`` is read when iteration
    starts (the loop seeds it per epoch), so the order depends only on the seed and the epoch.

    No ``batch_size`` attribute on purpose: accelerate then treats batches as lists of any length
    when it shards them across processes, and keeps every one of them."""

    def __init__(self, offsets: dict[str, int], sizes: dict[str, int], probabilities: dict[str, float],
                 batch_size: int, generator: torch.Generator):
        self.offsets, self.sizes, self.probabilities = offsets, sizes, probabilities
        self.size, self.generator = batch_size, generator
        self.names = list(sizes)

    def __len__(self) -> int:
        return sum(math.ceil(n / self.size) for n in self.sizes.values())

    def __iter__(self):
        weights = torch.tensor([self.probabilities[name] for name in self.names], dtype=torch.float64)
        draws = torch.multinomial(weights, len(self), replacement=True, generator=self.generator).tolist()
        streams = {name: [] for name in self.names}
        for k in draws:
            name = self.names[k]
            want = min(self.size, self.sizes[name])
            while len(streams[name]) < want:  # a new shuffled pass over the task's examples
                streams[name] += torch.randperm(self.sizes[name], generator=self.generator).tolist()
            batch, streams[name] = streams[name][:want], streams[name][want:]
            yield [self.offsets[name] + i for i in batch]


class MultiTaskDataset(Dataset):
    """Several tasks' encoded training sets as one dataset whose batches never mix tasks.

    ``collate`` pads a batch with its task's collator and marks it: ``batch["task"]`` is the task
    name (the model picks the head by it) and ``batch["labels"]`` becomes ``{"task", "labels"}``
    (the loss picks the task's loss by it).
    """

    def __init__(self, datasets: dict[str, Dataset], collators: dict[str, Callable], probabilities: dict[str, float]):
        self.datasets, self.collators, self.probabilities = datasets, collators, probabilities
        self.offsets, start = {}, 0
        for name, dataset in datasets.items():
            self.offsets[name], start = start, start + len(dataset)
        self.total = start

    def __len__(self) -> int:
        return self.total

    def _locate(self, i: int) -> tuple[str, int]:
        for name, offset in reversed(self.offsets.items()):
            if i >= offset:
                return name, i - offset
        raise IndexError(i)

    def __getitem__(self, i: int):
        name, local = self._locate(i)
        return name, self.datasets[name][local]

    @property
    def labels(self) -> list:
        """Every task's labels, in task order (what a checkpoint's data fingerprint hashes)."""
        return [[name, d.labels] for name, d in self.datasets.items()]

    @property
    def lengths(self) -> list[int]:
        return [n for d in self.datasets.values() for n in d.lengths]

    def batch_sampler(self, batch_size: int, generator: torch.Generator) -> TaskBatchSampler:
        sizes = {name: len(d) for name, d in self.datasets.items()}
        return TaskBatchSampler(self.offsets, sizes, self.probabilities, batch_size, generator)

    def collate(self, items: list) -> dict:
        name = items[0][0]
        if any(task != name for task, _ in items):
            raise ValueError("a multi-task batch mixes tasks; batches must come from TaskBatchSampler")
        batch = dict(self.collators[name]([item for _, item in items]))
        batch["labels"] = {"task": name, "labels": batch["labels"]}
        batch["task"] = name
        return batch

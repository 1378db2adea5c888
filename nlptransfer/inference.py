"""Batched forward passes over a dataset, in dataset order, on one or several processes."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

__all__ = ["run_batches", "predict_logits", "extract_features"]


def run_batches(fn: Callable[[dict], torch.Tensor], dataset, collate, accelerator, batch_size: int) -> torch.Tensor:
    """Stack ``fn(batch)`` over ``dataset``; rows come back in dataset order on every process.

    Examples are visited sorted by length (less padding, often 2x faster on long-tailed text) and
    put back in order afterwards. ``gather_for_metrics`` gathers exactly once and drops the
    samples accelerate duplicates to even out the last batch, so N processes give exactly the
    single-process rows (transformers #28956, accelerate #2754).
    """
    lengths = getattr(dataset, "lengths", None)
    order = np.argsort(lengths, kind="stable") if lengths is not None else np.arange(len(dataset))
    loader = DataLoader(Subset(dataset, order.tolist()), batch_size=batch_size, shuffle=False, collate_fn=collate)
    loader = accelerator.prepare_data_loader(loader)
    outputs = []
    with torch.no_grad(), accelerator.autocast():
        for batch in loader:
            batch.pop("labels", None)
            outputs.append(accelerator.gather_for_metrics(fn(batch).float()).cpu())
    stacked = torch.cat(outputs)
    restored = torch.empty_like(stacked)
    restored[torch.as_tensor(order)] = stacked
    return restored


def predict_logits(model, dataset, collate, accelerator, batch_size: int) -> torch.Tensor:
    was_training = model.training
    model.eval()
    try:
        return run_batches(lambda b: model(**b), dataset, collate, accelerator, batch_size)
    finally:
        model.train(was_training)


def extract_features(model, dataset, collate, accelerator, batch_size: int) -> torch.Tensor:
    """Pooled backbone output per example: computed once, then reused by every head epoch."""
    model.eval()
    net = accelerator.unwrap_model(model)
    return run_batches(lambda b: net.features(b["input_ids"], b["attention_mask"]), dataset, collate,
                       accelerator, batch_size)

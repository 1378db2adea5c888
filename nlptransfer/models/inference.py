"""Batched forward passes over a dataset, in dataset order, on one or several processes."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

__all__ = ["run_batches", "predict_logits", "extract_features", "extract_word_features"]


def run_batches(fn: Callable[[dict], torch.Tensor], dataset, collate, accelerator, batch_size: int) -> torch.Tensor:
    """Stack ``fn(batch)`` over ``dataset``; rows come back in dataset order on every process.

    Examples are visited sorted by length (less padding, often 2x faster on long-tailed text) and
    put back in order afterwards. ``gather_for_metrics`` gathers exactly once and drops the
    samples accelerate duplicates to even out the last batch, so N processes give exactly the
    single-process rows (transformers #28956, accelerate #2754).
    """
    lengths = getattr(dataset, "lengths", None)
    order = np.argsort(lengths, kind="stable") if lengths is not None else np.arange(len(dataset))
    width = max(lengths) if lengths else None  # token-level outputs are padded to one width to gather
    loader = DataLoader(Subset(dataset, order.tolist()), batch_size=batch_size, shuffle=False, collate_fn=collate)
    loader = accelerator.prepare_data_loader(loader)
    outputs = []
    with torch.no_grad(), accelerator.autocast():
        for batch in loader:
            batch.pop("labels", None)
            out = fn(batch).float()
            if out.ndim == 3:
                out = torch.nn.functional.pad(out, (0, 0, 0, width - out.shape[1]))
            outputs.append(accelerator.gather_for_metrics(out).cpu())
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


def extract_word_features(model, dataset, collate, accelerator, batch_size: int) -> torch.Tensor:
    """(total words, hidden): the backbone's vector at each word's first sub-token, from the
    window that owns the word, in sentence and word order. Computed once for the frozen strategy.

    Every process computes the whole cache (per-word rows have no fixed width to gather); the
    head epochs that follow are what gets sharded.
    """
    model.eval()
    net = accelerator.unwrap_model(model)
    order = np.argsort(dataset.lengths, kind="stable")
    loader = DataLoader(Subset(dataset, order.tolist()), batch_size=batch_size, shuffle=False, collate_fn=collate)
    per_sentence = [[None] * n for n in dataset.sentence_lengths]
    with torch.no_grad(), accelerator.autocast():
        for start, batch in zip(range(0, len(order), batch_size), loader):
            hidden = net.features(batch["input_ids"].to(accelerator.device),
                                  batch["attention_mask"].to(accelerator.device)).float().cpu()
            for row, index in enumerate(order[start:start + batch_size]):
                window = dataset.windows[index]
                for position, word in window.owned:
                    per_sentence[window.sentence][word] = hidden[row, position]
    return torch.stack([vector for sentence in per_sentence for vector in sentence])

"""Batched forward passes over a dataset, in dataset order, on one or several processes."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

__all__ = ["length_batches", "run_batches", "on_device", "predict_logits", "extract_features", "extract_word_features"]


# A CPU spends its time in proportion to the padded tokens, and a small batch costs it about the
# same per text as a large one (8 to 64 SST-2 sentences a batch timed alike, within the machine's
# noise): so there, one process cuts the length-sorted texts where padding to the batch's longest
# would waste over 5% of the batch. On SST-2 dev a 25% cap still padded 7% of the tokens and 5%
# pads 2.6%: 1 to 13% less time per path (bench/padding.py). A GPU wants full batches.
MAX_PADDING = 0.05


def length_batches(lengths: list[int], batch_size: int, cap_padding: bool) -> list[list[int]]:
    """Consecutive positions of ``lengths`` (sorted ascending) in batches of at most ``batch_size``;
    with ``cap_padding``, a batch also ends before padding would exceed ``MAX_PADDING`` of it."""
    batches, current, total = [], [], 0
    for i, n in enumerate(lengths):
        full = len(current) == batch_size
        padded = (len(current) + 1) * n  # n is the longest so far: the lengths ascend
        wasteful = cap_padding and current and padded - (total + n) > MAX_PADDING * padded
        if full or wasteful:
            batches.append(current)
            current, total = [], 0
        current.append(i)
        total += n
    return batches + [current] if current else batches


def run_batches(fn: Callable[[dict], torch.Tensor], dataset, collate, accelerator, batch_size: int,
                parallel: int = 1) -> torch.Tensor:
    """Stack ``fn(batch)`` over ``dataset``; rows come back in dataset order on every process.

    Examples are visited sorted by length (less padding, often 2x faster on long-tailed text) and
    put back in order afterwards. On several processes, ``gather_for_metrics`` gathers exactly
    once and drops the samples accelerate duplicates to even out the last batch, so N processes
    give exactly the single-process rows (transformers #28956, accelerate #2754); one process
    needs no gathering, and on CPU gets batches cut by padding (``length_batches``).
    ``parallel`` > 1 runs that many batches at once on threads, for an ``fn`` that is thread-safe
    and releases the GIL (ONNX Runtime: ``OnnxNet.parallel_batches``); one process only.
    """
    lengths = getattr(dataset, "lengths", None)
    order = np.argsort(lengths, kind="stable") if lengths is not None else np.arange(len(dataset))
    width = max(lengths) if lengths else None  # token-level outputs are padded to one width to gather
    ordered = Subset(dataset, order.tolist())
    single = accelerator.num_processes == 1
    parallel = parallel if single else 1
    if single and lengths is not None:
        # at least ``parallel`` batches when there are enough texts, or the other threads idle
        size = max(1, min(batch_size, -(-len(order) // parallel)))
        batches = length_batches([lengths[i] for i in order], size, accelerator.device.type == "cpu")
        loader = DataLoader(ordered, batch_sampler=batches, collate_fn=collate)
    else:
        loader = accelerator.prepare_data_loader(DataLoader(ordered, batch_size=batch_size, shuffle=False,
                                                            collate_fn=collate))

    def one(batch: dict) -> torch.Tensor:
        batch.pop("labels", None)
        if single:
            batch = {k: v.to(accelerator.device) for k, v in batch.items()}
        with torch.no_grad(), accelerator.autocast():  # both are per thread: set in the worker
            out = fn(batch).float()
        if out.ndim == 3:
            out = torch.nn.functional.pad(out, (0, 0, 0, width - out.shape[1]))
        return out if single else accelerator.gather_for_metrics(out)

    if parallel > 1:
        with ThreadPoolExecutor(parallel) as pool:  # map keeps the batches' order
            outputs = [out.cpu() for out in pool.map(one, loader)]
    else:
        outputs = [one(batch).cpu() for batch in loader]
    stacked = torch.cat(outputs)
    restored = torch.empty_like(stacked)
    restored[torch.as_tensor(order)] = stacked
    return restored


def on_device(net: torch.nn.Module, device) -> torch.nn.Module:
    """``net`` moved to ``device`` unless it is there already (``.to`` walks every module: ms a call)."""
    first = next(net.parameters(), None)
    return net if first is None or first.device == torch.device(device) else net.to(device)


def predict_logits(model, dataset, collate, accelerator, batch_size: int) -> torch.Tensor:
    was_training = model.training
    if was_training:  # train()/eval() walk every module: a few ms a call, which a server feels
        model.eval()
    try:
        return run_batches(lambda b: model(**b), dataset, collate, accelerator, batch_size,
                           getattr(model, "parallel_batches", 1))
    finally:
        if was_training:
            model.train()


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

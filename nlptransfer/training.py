"""The one training loop, on Accelerate.

Explicit by design (no Trainer, no callbacks): AdamW without decay on biases and norms, linear
warmup then decay, ``accelerator.accumulate`` for gradient accumulation (never ``step % n``
arithmetic, transformers #15801), clipping on the synchronising micro-batch, early stopping on a
validation score with the best weights restored.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Callable

import torch
from accelerate import Accelerator, PartialState
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from .batching import train_loader
from .config import TrainConfig
from .inference import predict_logits
from .strategies import optimizer_groups

__all__ = ["make_accelerator", "process_state", "TrainResult", "train_model"]


def _launched_on_cpu() -> bool:
    """Several processes were launched on a machine without a GPU. accelerate 1.15 forms a gloo
    group for them only when told ``cpu=True``; otherwise each process silently trains alone."""
    return not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1


def process_state() -> PartialState:
    """The process group this run is part of (one process when nothing launched several)."""
    return PartialState(cpu=_launched_on_cpu())


def make_accelerator(config: TrainConfig) -> Accelerator:
    """An Accelerator that honours ``accelerate launch``/config settings; otherwise bf16 autocast
    where the GPU supports it and full precision elsewhere."""
    kwargs = {"cpu": True} if _launched_on_cpu() else {}
    if "ACCELERATE_MIXED_PRECISION" not in os.environ:
        bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        kwargs["mixed_precision"] = "bf16" if bf16 else "no"
    return Accelerator(gradient_accumulation_steps=config.gradient_accumulation_steps, **kwargs)


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one row per epoch: loss, validation score
    best_epoch: int | None = None
    best_score: float | None = None
    best_logits: torch.Tensor | None = None  # validation logits of the kept weights: no need to predict again
    optimizer_steps: int = 0


def train_model(model, train_set, collate, *, config: TrainConfig, learning_rate: float, accelerator: Accelerator,
                loss_fn: Callable, validation_set=None, score_fn: Callable | None = None,
                description: str = "train") -> TrainResult:
    """Train ``model`` in place. ``score_fn(logits, labels) -> float`` (higher is better) selects
    the epoch whose weights are kept. Batches are dicts with ``labels`` and model inputs."""
    loader = train_loader(train_set, config.batch_size, collate, seed=config.seed,
                          group_by_length=config.group_by_length)
    optimizer = torch.optim.AdamW(optimizer_groups(model, learning_rate, config.head_learning_rate,
                                                   config.weight_decay))
    # Counted on the unsharded loader: accelerate steps a prepared scheduler once per process.
    total_steps = math.ceil(len(loader) / config.gradient_accumulation_steps) * config.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    wrapped, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    trainable = [p for p in wrapped.parameters() if p.requires_grad]
    names = {n for n, p in model.named_parameters() if p.requires_grad}

    result, best_state, stale = TrainResult(), None, 0
    for epoch in range(config.epochs):
        wrapped.train()
        loss_sum, batches = torch.zeros((), device=accelerator.device), 0
        bar = tqdm(loader, desc=f"{description} epoch {epoch + 1}/{config.epochs}",
                   disable=not (config.progress and accelerator.is_local_main_process), leave=False)
        for batch in bar:
            with accelerator.accumulate(wrapped):
                labels = batch.pop("labels")
                loss = loss_fn(wrapped(**batch), labels)
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(trainable, config.max_grad_norm)
                    result.optimizer_steps += 1
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            loss_sum += loss.detach()
            batches += 1
        row = {"epoch": epoch + 1, "train_loss": accelerator.reduce(loss_sum, "mean").item() / max(batches, 1)}
        if validation_set is not None and score_fn is not None:
            logits = predict_logits(wrapped, validation_set, collate, accelerator, config.eval_batch_size)
            row["validation_score"] = float(score_fn(logits, validation_set.labels))
            if result.best_score is None or row["validation_score"] > result.best_score:
                result.best_score, result.best_epoch, stale = row["validation_score"], epoch + 1, 0
                result.best_logits = logits
                # Only trainable tensors change, so only they are kept (the head alone when frozen).
                best_state = {k: v.detach().cpu().clone() for k, v in accelerator.unwrap_model(wrapped)
                              .state_dict().items() if k in names}
            else:
                stale += 1
        result.history.append(row)
        accelerator.print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        if config.early_stopping_patience is not None and stale >= config.early_stopping_patience:
            accelerator.print(f"early stopping: no better validation score for {stale} epoch(s)")
            break
    accelerator.wait_for_everyone()
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    accelerator.free_memory()
    return result

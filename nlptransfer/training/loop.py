"""The one training loop, on Accelerate.

Explicit by design (no Trainer, no callbacks): AdamW without decay on biases and norms, linear
warmup then decay, ``accelerator.accumulate`` for gradient accumulation (never ``step % n``
arithmetic, transformers #15801), clipping on the synchronising micro-batch, early stopping on a
validation score with the best weights restored.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from accelerate import Accelerator
from accelerate.utils.memory import should_reduce_batch_size
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from ..config import TrainConfig
from ..data.batching import train_loader
from ..errors import ConfigError
from ..models.inference import predict_logits
from .checkpoints import Progress, load_checkpoint, resolve_checkpoint, save_checkpoint
from .optimizer import optimizer_groups
from .tracking import MetricsLog

__all__ = ["TrainResult", "train_model"]


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one row per epoch: loss, validation score
    best_epoch: int | None = None
    best_score: float | None = None
    best_logits: torch.Tensor | None = None  # validation logits of the kept weights: no need to predict again
    optimizer_steps: int = 0
    resumed: bool = False  # continued from a checkpoint
    feature_seconds: float | None = None  # caching strategies: time spent computing the features


def train_model(model, train_set, collate, *, config: TrainConfig, learning_rate: float, accelerator: Accelerator,
                loss_fn: Callable, validation_set=None, score_fn: Callable | None = None, description: str = "train",
                run_dir: Path | None = None) -> TrainResult:
    """Train ``model`` in place. ``score_fn(logits, labels) -> float`` (higher is better) selects
    the epoch whose weights are kept. Batches are dicts with ``labels`` and model inputs.
    ``run_dir`` receives metrics.jsonl and, when asked, checkpoints/.

    A CUDA out-of-memory error before the first optimizer step (the longest batch comes first, so
    that is when it happens) restarts with half the batch and twice the accumulation: the same
    effective batch, nothing trained yet to undo. Later, or under several processes, it is raised.
    """
    batch_size, accumulation = config.batch_size, config.gradient_accumulation_steps
    while True:
        result = TrainResult()
        try:
            return _train(result, model, train_set, collate, config, learning_rate, accelerator, loss_fn,
                          validation_set, score_fn, description, run_dir, batch_size, accumulation)
        except Exception as error:
            if not (config.auto_batch_size and should_reduce_batch_size(error) and result.optimizer_steps == 0
                    and not result.resumed and batch_size > 1 and accelerator.num_processes == 1):
                raise
            accelerator.free_memory()
            batch_size, accumulation = batch_size // 2, accumulation * 2
            accelerator.gradient_accumulation_steps = accumulation
            accelerator.print(f"out of memory at batch_size={batch_size * 2}: retrying with batch_size={batch_size}, "
                              f"gradient_accumulation_steps={accumulation} (same effective batch; "
                              f"auto_batch_size=false turns this off)")


def _train(result, model, train_set, collate, config, learning_rate, accelerator, loss_fn, validation_set, score_fn,
           description, run_dir, batch_size, accumulation) -> TrainResult:
    # The sampler's generator is re-seeded each epoch (seed + epoch): the order depends only on the
    # seed, the epoch and the process count, so a resumed run sees the batches it would have seen.
    order = torch.Generator()
    loader = train_loader(train_set, batch_size, collate, generator=order, group_by_length=config.group_by_length)
    optimizer = torch.optim.AdamW(optimizer_groups(model, learning_rate, config.head_learning_rate,
                                                   config.weight_decay))
    # In optimizer steps of each process, then times the process count: a prepared scheduler is
    # stepped once per process per update. Rounded as one process would, so N processes follow
    # the one-process schedule exactly.
    processes = accelerator.num_processes
    updates = math.ceil(len(loader) / (accumulation * processes)) * config.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * updates) * processes,
                                                updates * processes)
    wrapped, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    trainable = [p for p in wrapped.parameters() if p.requires_grad]
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    log = MetricsLog(run_dir, accelerator, description)
    every = config.checkpoint_every_steps
    checkpoints = run_dir / "checkpoints" if run_dir is not None else None

    layout = {"phase": description, "batch_size": batch_size, "gradient_accumulation_steps": accumulation,
              "processes": accelerator.num_processes, "seed": config.seed, "epochs": config.epochs,
              "train_examples": len(train_set)}
    progress, best_state = Progress(layout=layout), None
    if config.resume_from_checkpoint is not None:
        if checkpoints is None:
            raise ConfigError("resume_from_checkpoint needs the run folder (output_dir) the checkpoints are in.")
        path = resolve_checkpoint(config.resume_from_checkpoint, checkpoints)
        if path is None:
            accelerator.print(f"no checkpoint under {checkpoints} yet: starting from the beginning")
        else:
            progress, best_state = load_checkpoint(accelerator, path, layout)
            result.resumed = True
            log.forget_after(progress.optimizer_steps)
            accelerator.print(f"resumed from {path}: epoch {progress.epoch + 1}, after batch {progress.batches_done}")
    result.history, result.optimizer_steps = progress.history, progress.optimizer_steps
    result.best_score, result.best_epoch = progress.best_score, progress.best_epoch

    def save(epoch: int, batches_done: int, loss_sum: torch.Tensor) -> None:
        progress.epoch, progress.batches_done, progress.optimizer_steps = epoch, batches_done, result.optimizer_steps
        progress.best_score, progress.best_epoch = result.best_score, result.best_epoch
        progress.loss_sums = accelerator.gather(loss_sum.reshape(1)).tolist()  # every process's own sum
        save_checkpoint(accelerator, checkpoints, progress, best_state, config.checkpoint_limit)

    patience = config.early_stopping_patience
    for epoch in range(progress.epoch, config.epochs):
        if patience is not None and progress.stale >= patience:
            break  # resumed from the checkpoint of the epoch that stopped the run
        order.manual_seed(config.seed + epoch)
        skip = progress.batches_done if epoch == progress.epoch else 0
        epoch_loader = accelerator.skip_first_batches(loader, skip) if skip else loader
        start_sum = progress.loss_sums[accelerator.process_index] if skip else 0.0
        loss_sum, batches = torch.tensor(start_sum, device=accelerator.device), skip
        window = []
        wrapped.train()
        bar = tqdm(epoch_loader, desc=f"{description} epoch {epoch + 1}/{config.epochs}", initial=skip,
                   total=len(loader), disable=not (config.progress and accelerator.is_local_main_process), leave=False)
        for batch in bar:
            stepped = False
            with accelerator.accumulate(wrapped):
                labels = batch.pop("labels")
                loss = loss_fn(wrapped(**batch), labels)
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(trainable, config.max_grad_norm)
                    result.optimizer_steps += 1
                    stepped = True
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            loss_sum += loss.detach()
            batches += 1
            window.append(loss.detach())
            if not stepped:
                continue
            step = result.optimizer_steps
            if step % config.logging_steps == 0:
                mean = accelerator.reduce(torch.stack(window).mean(), "mean").item()
                log.log({"epoch": epoch + 1, "loss": mean, "learning_rate": scheduler.get_last_lr()[0]}, step)
                window = []
            if every and step % every == 0 and batches < len(loader):  # at an epoch's end: saved below
                save(epoch, batches, loss_sum)

        row = {"epoch": epoch + 1, "train_loss": accelerator.reduce(loss_sum, "mean").item() / max(batches, 1)}
        if validation_set is not None and score_fn is not None:
            logits = predict_logits(wrapped, validation_set, collate, accelerator, config.eval_batch_size)
            row["validation_score"] = float(score_fn(logits, validation_set.labels))
            if result.best_score is None or row["validation_score"] > result.best_score:
                result.best_score, result.best_epoch, progress.stale = row["validation_score"], epoch + 1, 0
                result.best_logits = logits
                # Only trainable tensors change, so only they are kept (the head alone when frozen).
                best_state = {k: v.detach().cpu().clone() for k, v in accelerator.unwrap_model(wrapped)
                              .state_dict().items() if k in names}
            else:
                progress.stale += 1
        result.history.append(row)
        log.log(row, result.optimizer_steps)
        accelerator.print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        due = config.checkpoint_every_epoch or (every and result.optimizer_steps % every == 0)
        if checkpoints is not None and due:
            save(epoch + 1, 0, torch.zeros((), device=accelerator.device))
        if patience is not None and progress.stale >= patience:
            accelerator.print(f"early stopping: no better validation score for {progress.stale} epoch(s)")
            break
    accelerator.wait_for_everyone()
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    accelerator.free_memory()
    return result

"""The one training loop, on Accelerate.

Explicit by design (no Trainer, no callbacks): AdamW without decay on biases and norms, linear
warmup then decay, gradient accumulation over windows of micro-batches, every step normalised by
the labelled weight of a mean step (``step_weight``), clipping before each step, early stopping on
a validation score with the best weights restored (and their keys checked).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedType
from accelerate.utils.memory import should_reduce_batch_size
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from ..config import TrainConfig
from ..data.batching import train_loader
from ..errors import ConfigError
from ..layer_map import layer_map
from ..models.inference import predict_logits
from . import epochs as rule
from .checkpoints import Progress, load_checkpoint, resolve_checkpoint, save_checkpoint
from .optimizer import describe_rates, optimizer_groups
from .tracking import MetricsLog
from .unfreezing import GradualUnfreezing

__all__ = ["TrainResult", "train_model", "data_fingerprint", "step_weight"]


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one row per epoch: loss, validation score
    best_epoch: int | None = None
    best_score: float | None = None
    best_logits: torch.Tensor | None = None  # validation logits of the kept weights: no need to predict again
    optimizer_steps: int = 0
    resumed: bool = False  # continued from a checkpoint
    feature_seconds: float | None = None  # caching strategies: time spent computing the features


def data_fingerprint(dataset) -> str:
    """A short hash of a training set's labels and lengths: a checkpoint resumes only on its data."""
    labels = dataset.labels.tolist() if isinstance(dataset.labels, torch.Tensor) else dataset.labels
    shape = getattr(dataset, "lengths", None)
    return hashlib.sha256(json.dumps([labels, shape]).encode()).hexdigest()[:16]


def train_model(model, train_set, collate, *, config: TrainConfig, learning_rate: float, accelerator: Accelerator,
                loss_fn, validation_set=None, score_fn: Callable | None = None, score_name: str = "score",
                description: str = "train", run_dir: Path | None = None, identity: dict | None = None,
                gradual: bool = False, validate: Callable | None = None) -> TrainResult:
    """Train ``model`` in place. ``loss_fn(logits, labels)`` returns a summed loss and
    ``loss_fn.weight(labels)`` what it is normalised by (``SummedCrossEntropy``).
    ``score_fn(logits, labels) -> float`` (higher is better; printed as ``score_name``) selects the
    epoch whose weights are kept. Batches are dicts with ``labels`` and model inputs. ``run_dir``
    receives metrics.jsonl and, when asked, checkpoints/; ``identity`` (model, strategy) must match
    for a checkpoint to be resumed. ``gradual``: unfreeze from the top down (``GradualUnfreezing``).
    ``validate(model) -> (score, logits, extra row fields)`` replaces ``validation_set`` and
    ``score_fn`` where one prediction pass cannot score validation (several tasks).

    A CUDA out-of-memory error before the first optimizer step (the longest batch comes first, so
    that is when it happens) restarts with half the batch and twice the accumulation: the same
    effective batch, nothing trained yet to undo. Later, or under several processes, it is raised.
    """
    batch_size, accumulation = config.batch_size, config.gradient_accumulation_steps
    if validate is None and validation_set is not None and score_fn is not None:
        def validate(model):
            logits = predict_logits(model, validation_set, collate, accelerator, config.eval_batch_size)
            return score_fn(logits, validation_set.labels), logits, {}
    while True:
        result = TrainResult()
        try:
            return _train(result, model, train_set, collate, config, learning_rate, accelerator, loss_fn,
                          validate, score_name, description, run_dir, identity or {}, batch_size, accumulation,
                          gradual)
        except Exception as error:
            if not (config.auto_batch_size and should_reduce_batch_size(error) and result.optimizer_steps == 0
                    and not result.resumed and batch_size > 1 and accelerator.num_processes == 1):
                raise
            model.zero_grad(set_to_none=True)  # a failed backward may already have written gradients
            accelerator.free_memory()
            batch_size, accumulation = batch_size // 2, accumulation * 2
            accelerator.gradient_accumulation_steps = accumulation
            accelerator.print(f"out of memory at batch_size={batch_size * 2}: retrying with batch_size={batch_size}, "
                              f"gradient_accumulation_steps={accumulation} (same effective batch; "
                              f"auto_batch_size=false turns this off)")


def _windows(batches, size: int):
    """Consecutive lists of ``size`` batches (the last may be shorter): one optimizer step each."""
    window = []
    for batch in batches:
        window.append(batch)
        if len(window) == size:
            yield window
            window = []
    if window:
        yield window


def step_weight(loader, loss_fn, steps: int) -> float:
    """The labelled weight (``loss_fn.weight``) of an epoch's batches over its optimizer steps.

    Why not each step's own weight, as transformers' Trainer does with ``num_items_in_batch``:
    length-grouped NER batches hold from 32 to 1,371 labelled words (CoNLL, 2,000 sentences), so
    dividing each by its own count gave a word in a batch of short sentences 40 times the weight of
    one in a batch of long ones, and cost LoRA 1.6 F1 points (BENCHMARKS.md). One pass of the
    unprepared loader (padding only; the masked-LM collator masks by its own per-batch seed) gives
    the whole training set on every process, so no process waits for another.
    """
    total = sum(float(loss_fn.weight(batch["labels"])) for batch in loader)
    return max(total / steps, 1e-12)


def _train(result, model, train_set, collate, config, learning_rate, accelerator, loss_fn, validate, score_name,
           description, run_dir, identity, batch_size, accumulation, gradual) -> TrainResult:
    # The sampler's generator is re-seeded each epoch (seed + epoch): the order depends only on the
    # seed, the epoch and the process count, so a resumed run sees the batches it would have seen.
    order = torch.Generator()
    loader = train_loader(train_set, batch_size, collate, generator=order, group_by_length=config.group_by_length)
    groups = optimizer_groups(model, learning_rate, config.head_learning_rate, config.weight_decay,
                              config.layerwise_lr_decay if description != "head" else None)
    if config.layerwise_lr_decay is not None and description != "head":
        accelerator.print(describe_rates(groups))
    optimizer = torch.optim.AdamW(groups)
    # In optimizer steps of each process, then times the process count: a prepared scheduler is
    # stepped once per process per update. Rounded as one process would, so N processes follow
    # the one-process schedule exactly.
    processes = accelerator.num_processes
    per_epoch = math.ceil(len(loader) / (accumulation * processes))
    # gradual: the steps before everything has joined come on top of those everything trains
    joining = rule.unfreezing_steps(per_epoch, layer_map(model).n_blocks, config.unfreeze_every,
                                    config.min_steps) if gradual else 0
    epochs = config.epochs or rule.epochs_for(per_epoch, joining, config.min_steps)
    patience = config.early_stopping_patience
    if config.epochs is None:
        patience = rule.patience_for(patience, per_epoch)
        stopping = (f"; early stopping after {patience} epochs without a better validation score (at least "
                    f"{rule.MIN_STALE_STEPS} steps{', counted once everything trains' if gradual else ''})"
                    if patience and validate is not None else "")
        accelerator.print(f"{description}: {epochs} epochs, chosen from the data ({per_epoch} optimizer steps per "
                          f"epoch; {rule.describe(joining, config.min_steps)}; epochs= sets them){stopping}")
    updates = per_epoch * epochs
    unfreezing = GradualUnfreezing(model, per_epoch=per_epoch, updates=updates,
                                   steps_per_stage=config.unfreeze_every) if gradual else None
    if unfreezing is not None:
        accelerator.print(unfreezing.plan())
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * updates) * processes,
                                                updates * processes)
    # Each step's summed loss is divided by the labelled weight of a mean step, the same for every
    # step, so that every labelled token (example, class weight) moves the weights alike wherever it
    # falls, and the split over micro-batches and processes does not matter.
    scale = accumulation * processes / step_weight(loader, loss_fn, per_epoch)  # backward divides by k again
    wrapped, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    trainable = [p for p in wrapped.parameters() if p.requires_grad]
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    log = MetricsLog(run_dir, accelerator, description)
    every = config.checkpoint_every_steps
    checkpoints = run_dir / "checkpoints" if run_dir is not None else None

    layout = {"phase": description, "batch_size": batch_size, "gradient_accumulation_steps": accumulation,
              "processes": accelerator.num_processes, "seed": config.seed, "epochs": epochs,
              "train_examples": len(train_set), **identity, "data": data_fingerprint(train_set)}
    progress, best_state = Progress(layout=layout), None
    if config.resume_from_checkpoint is not None:
        if checkpoints is None:
            raise ConfigError("resume_from_checkpoint needs the run folder (output_dir) the checkpoints are in.")
        path = resolve_checkpoint(config.resume_from_checkpoint, checkpoints)
        if path is None:
            accelerator.print(f"no checkpoint under {checkpoints} yet: starting from the beginning")
            log.forget_after(0)  # rows an earlier attempt logged before it could checkpoint
        else:
            progress, best_state = load_checkpoint(accelerator, path, layout)
            result.resumed = True
            log.forget_after(progress.optimizer_steps)
            accelerator.print(f"resumed from {path}: epoch {progress.epoch + 1}, after batch {progress.batches_done}")
    result.history, result.optimizer_steps = progress.history, progress.optimizer_steps
    result.best_score, result.best_epoch = progress.best_score, progress.best_epoch

    def save(epoch: int, batches_done: int, sums: torch.Tensor) -> None:
        progress.epoch, progress.batches_done, progress.optimizer_steps = epoch, batches_done, result.optimizer_steps
        progress.best_score, progress.best_epoch = result.best_score, result.best_epoch
        progress.loss_sums = accelerator.gather(sums.reshape(1, 2)).tolist()  # every process's (loss, weight)
        save_checkpoint(accelerator, checkpoints, progress, best_state, config.checkpoint_limit)

    # DDP synchronises gradients only on the last micro-batch of a window; DeepSpeed accumulates itself.
    defer_sync = accelerator.distributed_type != DistributedType.DEEPSPEED
    for epoch in range(progress.epoch, epochs):
        if patience is not None and progress.stale >= patience:
            break  # resumed from the checkpoint of the epoch that stopped the run
        order.manual_seed(config.seed + epoch)
        skip = progress.batches_done if epoch == progress.epoch else 0
        epoch_loader = accelerator.skip_first_batches(loader, skip) if skip else loader
        start = progress.loss_sums[accelerator.process_index] if skip else [0.0, 0.0]
        sums, batches = torch.tensor(start, device=accelerator.device), skip  # (summed loss, weight) this epoch
        logged = torch.zeros(2, device=accelerator.device)
        wrapped.train()
        bar = tqdm(total=len(loader), initial=skip, desc=f"{description} epoch {epoch + 1}/{epochs}",
                   disable=not (config.progress and accelerator.is_local_main_process), leave=False)
        for window in _windows(epoch_loader, accumulation):
            # The window is fetched whole (instead of deciding per batch with accelerator.accumulate)
            # so that its last micro-batch, the one that synchronises, is known in advance.
            for i, batch in enumerate(window):
                last = i == len(window) - 1
                accelerator.gradient_state._set_sync_gradients(last)  # what the prepared optimizer steps on
                with accelerator.no_sync(wrapped) if defer_sync and not last else contextlib.nullcontext():
                    labels = batch.pop("labels")
                    loss = loss_fn(wrapped(**batch), labels)
                    accelerator.backward(loss * scale)  # backward divides by the accumulation steps again
                step_sums = torch.stack([loss.detach(), loss_fn.weight(labels)])
                sums, logged = sums + step_sums, logged + step_sums
            if unfreezing is not None:  # blocks that have not joined yet: no step, no clipping share
                unfreezing.drop_frozen_gradients(result.optimizer_steps)
            accelerator.clip_grad_norm_(trainable, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            result.optimizer_steps += 1
            batches += len(window)
            bar.update(len(window))
            step = result.optimizer_steps
            if step % config.logging_steps == 0:
                totals = accelerator.reduce(logged, "sum")
                log.log({"epoch": epoch + 1, "loss": (totals[0] / totals[1].clamp(min=1e-12)).item(),
                         "learning_rate": scheduler.get_last_lr()[0]}, step)
                logged = torch.zeros(2, device=accelerator.device)
            if every and step % every == 0 and batches < len(loader):  # at an epoch's end: saved below
                save(epoch, batches, sums)
        bar.close()

        totals = accelerator.reduce(sums, "sum")
        row = {"epoch": epoch + 1, "train_loss": (totals[0] / totals[1].clamp(min=1e-12)).item()}
        if unfreezing is not None:
            row["trained"] = unfreezing.describe(result.optimizer_steps - 1)  # what this epoch's last step moved
        if validate is not None:
            score, logits, extra = validate(wrapped)
            row.update(validation_score=float(score), validation_metric=score_name, **extra)
            if result.best_score is None or row["validation_score"] > result.best_score:
                result.best_score, result.best_epoch, progress.stale = row["validation_score"], epoch + 1, 0
                result.best_logits = logits
                # Only trainable tensors change, so only they are kept (the head alone when frozen).
                best_state = {k: v.detach().cpu().clone() for k, v in accelerator.unwrap_model(wrapped)
                              .state_dict().items() if k in names}
            elif unfreezing is None or unfreezing.everything_joined(result.optimizer_steps - 1):
                progress.stale += 1  # not while gradual is still adding blocks: the run has not begun in full
        result.history.append(row)
        log.log(row, result.optimizer_steps)
        accelerator.print(_epoch_line(row, epochs, result.best_epoch))
        due = config.checkpoint_every_epoch or (every and result.optimizer_steps % every == 0)
        if checkpoints is not None and due:
            save(epoch + 1, 0, torch.zeros(2, device=accelerator.device))
        if patience is not None and progress.stale >= patience:
            accelerator.print(f"early stopping: no better validation {score_name} for {progress.stale} epoch(s)")
            break
    accelerator.wait_for_everyone()
    if best_state is not None:
        _restore(model, best_state, names)
    accelerator.free_memory()
    return result


def _epoch_line(row: dict, epochs: int, best_epoch: int | None) -> str:
    line = f"epoch {row['epoch']}/{epochs}: train_loss={row['train_loss']:.4f}"
    if "validation_score" in row:
        best = " (best so far)" if best_epoch == row["epoch"] else ""
        line += f" validation_{row['validation_metric']}={row['validation_score']:.4f}{best}"
        parts = [f"{k[len('validation_'):]} {v:.4f}" for k, v in row.items()
                 if k.startswith("validation_") and k not in ("validation_score", "validation_metric")]
        line += f" ({', '.join(parts)})" if parts else ""  # several tasks: each one's score
    return line


def _restore(model, best_state: dict, trainable: set[str]) -> None:
    """Load the best epoch's trainable weights back, refusing any key mismatch: a silent partial
    load would keep the last epoch's weights while the history reports the best."""
    lost = trainable - best_state.keys()
    missing, unexpected = model.load_state_dict(best_state, strict=False)
    if unexpected or lost or set(best_state) & set(missing):
        raise RuntimeError(f"restoring the best epoch's weights failed: unexpected {unexpected[:5]}, "
                           f"not kept {sorted(lost)[:5]}; the model's parameters changed during training.")

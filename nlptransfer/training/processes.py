"""The processes a run is made of, and the Accelerator that drives them.

Under ``accelerate launch`` (several processes, GPUs or machines) the launch settings are
honoured; a plain ``python`` run is one process.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from accelerate import Accelerator, PartialState

from .tracking import tracker_names

__all__ = ["process_state", "describe_processes", "make_accelerator", "inference_accelerator"]


def _launched_on_cpu() -> bool:
    """Several processes were launched on a machine without a GPU. accelerate 1.15 forms a gloo
    group for them only when told ``cpu=True``; otherwise each process silently trains alone."""
    return not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1


def process_state() -> PartialState:
    """The process group this run is part of (one process when nothing launched several)."""
    return PartialState(cpu=_launched_on_cpu())


def describe_processes(config) -> str:
    """The run's first line: how many processes, of what kind, and the effective batch, e.g.
    ``processes: 2 (MULTI_CPU): 2 processes on CPU (gloo); effective batch 16 x 2 processes``."""
    state = process_state()
    n, kind = state.num_processes, state.distributed_type.value
    device = "GPU" if torch.cuda.is_available() else "CPU"
    where = "one process" if n == 1 else f"{n} processes"
    where += f" on {device}" + (" (gloo)" if n > 1 and device == "CPU" else "")
    parts = [f"{config.batch_size}"] + ([f"{n} processes"] if n > 1 else []) + \
        ([f"{config.gradient_accumulation_steps} accumulation steps"] if config.gradient_accumulation_steps > 1 else [])
    effective = config.batch_size * n * config.gradient_accumulation_steps
    batch = f"batch {effective}" if len(parts) == 1 else f"effective batch {effective} = {' x '.join(parts)}"
    return f"processes: {n} ({kind}): {where}; {batch}"


def _launch_kwargs() -> dict:
    """What the launch decides: the process group, and mixed precision (bf16 autocast where the
    GPU supports it and full precision elsewhere, unless the accelerate config says otherwise)."""
    kwargs = {"cpu": True} if _launched_on_cpu() else {}
    if "ACCELERATE_MIXED_PRECISION" not in os.environ:
        bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        kwargs["mixed_precision"] = "bf16" if bf16 else "no"
    return kwargs


def make_accelerator(config, project_dir: Path | None = None, *, unused_parameters: bool = False) -> Accelerator:
    """The training Accelerator for ``config`` (a ``TrainConfig``): gradient accumulation, and
    ``report_to`` trackers writing under ``project_dir`` (the run folder). ``unused_parameters``:
    a step may leave some trainable parameters out (multi-task: the other tasks' heads), which DDP
    must be told or it fails waiting for their gradients."""
    kwargs = _launch_kwargs()
    if unused_parameters:
        from accelerate.utils import DistributedDataParallelKwargs

        kwargs["kwargs_handlers"] = [DistributedDataParallelKwargs(find_unused_parameters=True)]
    trackers = tracker_names(config.report_to)
    if trackers:
        kwargs.update(log_with=trackers, project_dir=str(project_dir or "."))
    return Accelerator(gradient_accumulation_steps=config.gradient_accumulation_steps, **kwargs)


def inference_accelerator() -> Accelerator:
    """An Accelerator for prediction: the launch's processes and precision, no training options
    (a model trained with trackers predicts where they are not installed). Made per call and not
    kept, so no data loader it prepares outlives the call."""
    return Accelerator(**_launch_kwargs())

"""What a strategy will cost on this machine: a few timed optimizer steps on real batches of the
user's data, extrapolated to the run the defaults would make (epochs chosen from the data size,
the contrastive pair budget), and the memory it needs.

Timing, not a formula of parameter counts: the same model runs at very different speeds on a
laptop CPU, a T4 and an H100, and only this machine's clock says which one the user has.
"""
from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass

import torch

from ..data.pairs import default_pair_budget
from ..layer_map import layer_map
from ..models.task_model import build_task_model
from ..strategies import default_learning_rate, strategy
from ..training.epochs import epochs_for, unfreezing_steps
from ..training.optimizer import optimizer_groups

__all__ = ["Cost", "measure_cost"]

# after one untimed step (allocations, kernel selection); the median, because one step slowed by
# another process (or a page fault) once put a prediction 4x over the same model's on similar data
TIMED_STEPS = 3


@dataclass(frozen=True)
class Cost:
    seconds: float  # predicted training time of a default run on the full data
    memory_mb: float  # peak accelerator memory measured in the timed steps; on CPU weights + optimizer state
    memory_measured: bool
    step_seconds: float
    steps: int
    epochs: int


def _timed(fn, device) -> float:
    fn()
    seconds = []
    for _ in range(TIMED_STEPS):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def measure_cost(model: str, strategy_name: str, num_labels: int, batch: dict, n_train: int, n_validation: int,
                 config, accelerator, *, pooling: str | None = None, length_scale: float = 1.0) -> Cost:
    """``batch``: one collated training batch of ``config.batch_size`` real examples;
    ``length_scale``: the average training batch's padded length over this one's (a step's time
    taken as proportional to it: an upper bound, as part of a step does not grow with length)."""
    plan = strategy(strategy_name)
    built = build_task_model(model, num_labels, strategy_name, config, pooling=pooling)
    device = accelerator.device
    net = built.net.to(device)
    inputs = {k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    per_example_forward = length_scale * _forward_seconds(net, inputs, device) / len(inputs["input_ids"])
    # every strategy predicts validation (once per epoch) and caching strategies read train once
    reading = per_example_forward * (n_train + n_validation)
    if plan.caches_features:
        step_s, steps, epochs, total = 0.0, 0, 1, reading
    else:
        optimizer = torch.optim.AdamW(optimizer_groups(net, default_learning_rate(strategy_name, config), None, 0.0))

        def forward_backward():
            optimizer.zero_grad(set_to_none=True)
            net(**inputs).float().square().mean().backward()  # any loss costs the same backward

        # Timed apart: the forward-backward grows with the padded length, the AdamW update only
        # with the weights that train (0.37 of mpnet-base's 1.06 s step on SST-2), so only the
        # first is scaled, and a contrastive step (two texts an example) takes one update, not two.
        # Scaling both over-predicted full-weight training of the large checkpoints; see
        # BENCHMARKS.md, "SST-2, seed 0" of the ranking runs.
        text_s = length_scale * _timed(forward_backward, device)
        update_s = _timed(optimizer.step, device)  # the gradients of the last pass stay in place
        step_s = text_s + update_s
        per_epoch = math.ceil(n_train / config.batch_size)
        if plan.trains_on_pairs:  # a pair batch holds up to twice the texts of a text batch
            steps = math.ceil((config.contrastive_pairs or default_pair_budget(n_train)) / config.batch_size)
            epochs, total = 1, (2 * text_s + update_s) * steps + per_example_forward * (n_train + n_validation)
        else:
            joining = unfreezing_steps(per_epoch, layer_map(built.net).n_blocks, config.unfreeze_every,
                                       config.min_steps) if plan.gradual else 0
            epochs = config.epochs or epochs_for(per_epoch, joining, config.min_steps)
            steps = per_epoch * epochs
            total = step_s * steps + per_example_forward * n_validation * epochs
    if device.type == "cuda":
        memory, measured = torch.cuda.max_memory_allocated(device) / 2**20, True
    else:  # weights, and for what trains its gradient and AdamW's two moments (all float32)
        memory, measured = (built.parameters.total + 3 * built.parameters.trainable) * 4 / 2**20, False
    return Cost(total, memory, measured, step_s, steps, epochs)


def _forward_seconds(net, inputs: dict, device) -> float:
    net.eval()
    with torch.no_grad():
        seconds = _timed(lambda: net(**inputs), device)
    net.train()
    return seconds

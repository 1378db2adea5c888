"""How long to train when the user does not say: epochs from the size of the data, and the
early-stopping patience that goes with them (one rule for every task type, single- and
multi-task)."""
from __future__ import annotations

import math

__all__ = ["epochs_for", "patience_for", "multi_task_epochs", "multi_task_patience", "describe", "MIN_STEPS",
           "MIN_EPOCHS", "MAX_EPOCHS", "MIN_STALE_STEPS"]

# Epochs follow the data when not given: enough for MIN_STEPS optimizer steps, within bounds. Few
# steps were the main reason full fine-tuning trailed TF-IDF on 800 texts (3 epochs = 150 steps;
# BENCHMARKS.md, "Why small data lost"). The cap was 20 epochs: 80 steps for 50 examples, after
# which NER had not started to find entities (F1 0.05; 60 epochs: 0.52; "Tiny training sets").
MIN_STEPS, MIN_EPOCHS, MAX_EPOCHS = 500, 3, 60
# With epochs chosen from the data, a stale stretch must also span this many optimizer steps
# before early stopping ends the run: at 4 steps an epoch, 3 epochs are 12 steps, shorter than
# the dip of a tagger that passes from random tags to all-O before it finds entities.
MIN_STALE_STEPS = 100


def epochs_for(steps_per_epoch: int) -> int:
    """Epochs that make at least ``MIN_STEPS`` optimizer steps, between MIN_EPOCHS and MAX_EPOCHS."""
    return _bounded(MIN_STEPS / max(steps_per_epoch, 1))


def patience_for(patience: int | None, steps_per_epoch: int) -> int | None:
    """Early-stopping patience in epochs when the epochs follow the data: at least ``patience``
    and at least MIN_STALE_STEPS optimizer steps."""
    return _stale_epochs(patience, max(steps_per_epoch, 1))


def _stale_epochs(patience: int | None, steps_per_epoch: float) -> int | None:
    """At least ``patience`` epochs and at least MIN_STALE_STEPS steps at this many steps an epoch."""
    return None if patience is None else max(patience, math.ceil(MIN_STALE_STEPS / steps_per_epoch))


def _bounded(epochs: float) -> int:
    return int(min(max(math.ceil(epochs), MIN_EPOCHS), MAX_EPOCHS))


def multi_task_epochs(batches: dict[str, int], probabilities: dict[str, float], per_step: int) -> int:
    """Epochs of a multi-task run that give every task at least the optimizer steps it would get
    alone (``epochs_for`` on its own batches): a task drawn with probability p gets about p of the
    steps, so counting the total alone would train each task less than alone (measured: CoNLL
    at 300 sentences beside SST-2 got 266 steps against 380 alone, its F1 still rising).
    ``batches``: task -> batches per pass; ``per_step``: batches per optimizer step (gradient
    accumulation x processes). Between MIN_EPOCHS and MAX_EPOCHS."""
    per_epoch = max(math.ceil(sum(batches.values()) / per_step), 1)
    needed = 0.0
    for name, n in batches.items():
        alone = math.ceil(n / per_step)
        needed = max(needed, epochs_for(alone) * alone / max(probabilities[name], 1e-9))
    return _bounded(needed / per_epoch)


def multi_task_patience(patience: int | None, batches: dict[str, int], probabilities: dict[str, float],
                        per_step: int) -> int | None:
    """``patience_for`` for a multi-task run whose epochs follow the data: a stale stretch spans at
    least MIN_STALE_STEPS of *each task's own* optimizer steps (a task drawn with probability p gets
    about p of an epoch's steps), so a tiny tagger beside a large sentence task is not cut off in
    its dip either."""
    per_epoch = max(math.ceil(sum(batches.values()) / per_step), 1)
    return _stale_epochs(patience, min(max(probabilities[name], 1e-9) * per_epoch for name in batches))


def describe() -> str:
    """The rule in words, for the line a run prints when it chooses its epochs."""
    return f"at least {MIN_STEPS} steps, {MIN_EPOCHS} to {MAX_EPOCHS} epochs"

"""How long to train when the user does not say: epochs from the size of the data, and the
early-stopping patience that goes with them (one rule for every task type, single- and
multi-task; a task type may ask for more steps than MIN_STEPS: ``TaskType.min_steps``)."""
from __future__ import annotations

import math

__all__ = ["epochs_for", "unfreezing_steps", "patience_for", "multi_task_epochs", "multi_task_patience", "describe",
           "MIN_STEPS", "MIN_EPOCHS", "MAX_EPOCHS", "MIN_STALE_STEPS"]

# Epochs follow the data when not given: enough for MIN_STEPS optimizer steps, within bounds. Few
# steps were the main reason full fine-tuning trailed TF-IDF on 800 texts (3 epochs = 150 steps;
# BENCHMARKS.md, "Why small data lost"). The cap was 20 epochs: 80 steps for 50 examples, after
# which NER had not started to find entities (F1 0.05; 60 epochs: 0.52; "Tiny training sets").
MIN_STEPS, MIN_EPOCHS, MAX_EPOCHS = 500, 3, 60
# With epochs chosen from the data, a stale stretch must also span this many optimizer steps
# before early stopping ends the run: at 4 steps an epoch, 3 epochs are 12 steps, shorter than
# the dip of a tagger that passes from random tags to all-O before it finds entities.
MIN_STALE_STEPS = 100


def epochs_for(steps_per_epoch: int, unfreezing: int = 0, min_steps: int | None = None) -> int:
    """Epochs that make at least ``min_steps`` (default MIN_STEPS; a task type may ask for more)
    optimizer steps after the ``unfreezing`` steps of ``gradual`` (``unfreezing_steps``), between
    MIN_EPOCHS and MAX_EPOCHS."""
    return _bounded(((min_steps or MIN_STEPS) + unfreezing) / max(steps_per_epoch, 1))


def unfreezing_steps(steps_per_epoch: int, n_blocks: int, unfreeze_every: int | None = None,
                     after: int | None = None) -> int:
    """The optimizer steps to add to a ``gradual`` run so that, once its last group (the
    embeddings) has joined, everything trains for ``after`` steps, as with ``full``. Counting the
    same MIN_STEPS in all cost gradual 12 F1 points on CoNLL-2003 at 800 sentences: it trained
    everything for only the last 255 of 500 steps, its validation F1 still rising (BENCHMARKS.md).

    With ``unfreeze_every`` unset, ``GradualUnfreezing`` gives each group one epoch but ends the
    joining by half-way through the run: when a group per epoch takes at most ``after`` steps the
    run needs ``after`` + those, else 2 x ``after`` (the joining then fits in the first half).
    ``after`` defaults to MIN_STEPS."""
    groups, after = n_blocks + 1, after or MIN_STEPS
    return unfreeze_every * groups if unfreeze_every else min(max(steps_per_epoch, 1) * groups, after)


def patience_for(patience: int | None, steps_per_epoch: int) -> int | None:
    """Early-stopping patience in epochs when the epochs follow the data: at least ``patience``
    and at least MIN_STALE_STEPS optimizer steps."""
    return _stale_epochs(patience, max(steps_per_epoch, 1))


def _stale_epochs(patience: int | None, steps_per_epoch: float) -> int | None:
    """At least ``patience`` epochs and at least MIN_STALE_STEPS steps at this many steps an epoch."""
    return None if patience is None else max(patience, math.ceil(MIN_STALE_STEPS / steps_per_epoch))


def _bounded(epochs: float) -> int:
    return int(min(max(math.ceil(epochs), MIN_EPOCHS), MAX_EPOCHS))


def multi_task_epochs(batches: dict[str, int], probabilities: dict[str, float], per_step: int,
                      n_blocks: int | None = None, unfreeze_every: int | None = None,
                      min_steps: dict[str, int | None] | None = None) -> int:
    """Epochs of a multi-task run that give every task at least the optimizer steps it would get
    alone (``epochs_for`` on its own batches): a task drawn with probability p gets about p of the
    steps, so counting the total alone would train each task less than alone (measured: CoNLL
    at 300 sentences beside SST-2 got 266 steps against 380 alone, its F1 still rising).
    ``batches``: task -> batches per pass; ``per_step``: batches per optimizer step (gradient
    accumulation x processes); ``n_blocks`` (gradual only): the shared backbone's blocks, whose
    joining comes on top (``unfreezing_steps``, in steps of the whole run); ``min_steps``: task ->
    its step minimum (``epochs_for``'s). Between MIN_EPOCHS and MAX_EPOCHS."""
    per_epoch = max(math.ceil(sum(batches.values()) / per_step), 1)
    needed = 0.0
    for name, n in batches.items():
        alone = math.ceil(n / per_step)
        needed = max(needed, epochs_for(alone, min_steps=(min_steps or {}).get(name)) * alone
                     / max(probabilities[name], 1e-9))
    if n_blocks is not None:
        needed += unfreezing_steps(per_epoch, n_blocks, unfreeze_every, after=math.ceil(needed))
    return _bounded(needed / per_epoch)


def multi_task_patience(patience: int | None, batches: dict[str, int], probabilities: dict[str, float],
                        per_step: int) -> int | None:
    """``patience_for`` for a multi-task run whose epochs follow the data: a stale stretch spans at
    least MIN_STALE_STEPS of *each task's own* optimizer steps (a task drawn with probability p gets
    about p of an epoch's steps), so a tiny tagger beside a large sentence task is not cut off in
    its dip either."""
    per_epoch = max(math.ceil(sum(batches.values()) / per_step), 1)
    return _stale_epochs(patience, min(max(probabilities[name], 1e-9) * per_epoch for name in batches))


def describe(unfreezing: int = 0, min_steps: int | None = None) -> str:
    """The rule in words, for the line a run prints when it chooses its epochs."""
    after = f" after the {unfreezing} of gradual unfreezing" if unfreezing else ""
    return f"at least {min_steps or MIN_STEPS} steps{after}, {MIN_EPOCHS} to {MAX_EPOCHS} epochs"

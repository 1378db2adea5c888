"""Training checkpoints: the full state, written atomically, pruned, found again to resume.

A checkpoint is ``RUN/checkpoints/step-NNNNNNNN/``: accelerate's ``save_state`` (weights, optimizer,
scheduler, every process's RNG states, grad scaler), the best weights kept so far for early
stopping, and ``progress.json`` (position in the epoch, history, early-stopping state). Everything
is written to a hidden ``.tmp-*`` folder, ``progress.json`` last, and the folder is renamed into
place in one step, so a kill during a write never leaves a checkpoint that looks complete.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic_files import atomic_write_text
from ..errors import ConfigError

__all__ = ["Progress", "save_checkpoint", "resolve_checkpoint", "load_checkpoint", "complete_checkpoints"]

PROGRESS = "progress.json"
BEST = "best.safetensors"


@dataclass
class Progress:
    """Where the loop stands; enough, with the accelerate state, to continue bit for bit."""

    epoch: int = 0  # epochs finished
    batches_done: int = 0  # micro-batches of the current epoch already trained
    optimizer_steps: int = 0
    history: list = field(default_factory=list)
    best_score: float | None = None
    best_epoch: int | None = None
    stale: int = 0
    loss_sums: list = field(default_factory=list)  # per process: summed loss of the epoch so far
    layout: dict = field(default_factory=dict)  # what must not change between a run and its resumption


def complete_checkpoints(root: Path) -> list[Path]:
    """Finished checkpoints under ``root``, oldest first (unfinished writes are hidden ``.tmp-*``)."""
    if not root.is_dir():
        return []
    found = [p for p in root.glob("step-*") if (p / PROGRESS).is_file()]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def save_checkpoint(accelerator, root: Path, progress: Progress, best_state: dict | None, limit: int) -> Path:
    """Write a checkpoint (every process takes part), then keep only the newest ``limit``."""
    from safetensors.torch import save_file

    final = root / f"step-{progress.optimizer_steps:08d}"
    tmp = root / f".tmp-{final.name}"
    if accelerator.is_main_process and tmp.exists():
        shutil.rmtree(tmp)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    if accelerator.is_main_process:
        if best_state is not None:
            save_file({k: v.contiguous() for k, v in best_state.items()}, str(tmp / BEST))
        atomic_write_text(tmp / PROGRESS, json.dumps(dataclasses.asdict(progress), indent=1))
        if final.exists():  # the same step again (a resumed run re-saving): replace it
            shutil.rmtree(final)
        tmp.rename(final)
        for old in complete_checkpoints(root)[:-limit]:
            shutil.rmtree(old, ignore_errors=True)
        for stale in root.glob(".tmp-*"):  # writes a kill interrupted
            shutil.rmtree(stale, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def resolve_checkpoint(spec: str | None, root: Path) -> Path | None:
    """``"latest"``: the newest complete checkpoint under ``root`` (None when there is none yet,
    so a re-queued job can always pass it); a path: that checkpoint, which must be complete."""
    if spec is None:
        return None
    if spec == "latest":
        found = complete_checkpoints(root)
        return found[-1] if found else None
    path = Path(spec)
    if not (path / PROGRESS).is_file():
        raise ConfigError(f"resume_from_checkpoint={spec!r} is not a complete nlptransfer checkpoint (no {PROGRESS}"
                          f" in it). Complete ones: {[p.name for p in complete_checkpoints(root)] or 'none'}; "
                          f"or pass 'latest'.")
    return path


def load_checkpoint(accelerator, path: Path, layout: dict) -> tuple[Progress, dict | None]:
    """Restore the accelerate state from ``path``; return its progress and kept best weights.
    Refuses when the batch layout differs: the position in the epoch would mean other data."""
    from safetensors.torch import load_file

    progress = Progress(**json.loads((path / PROGRESS).read_text()))
    changed = {k: (progress.layout.get(k), v) for k, v in layout.items() if progress.layout.get(k) != v}
    if changed:
        detail = ", ".join(f"{k}: {old} then, {new} now" for k, (old, new) in changed.items())
        raise ConfigError(f"Cannot resume from {path}: {detail}. Resume with the settings and number of processes "
                          f"the checkpoint was written with.")
    accelerator.load_state(str(path))
    best = load_file(str(path / BEST)) if (path / BEST).is_file() else None
    return progress, best

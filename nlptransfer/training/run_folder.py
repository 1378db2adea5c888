"""The run folder: where a run's configuration, history, metrics log, checkpoints and tracker
logs go, and the process setup that comes with starting a run."""
from __future__ import annotations

import json
import time
from pathlib import Path

from ..atomic_files import atomic_write_text
from ..config import RunConfig, config_to_dict
from .processes import make_accelerator
from .tracking import start_trackers

__all__ = ["start_run", "write_run_records"]


def start_run(run: RunConfig, default_name: str | None = None):
    """Seed, pick the run folder, make the Accelerator and start its trackers.
    Returns ``(accelerator, run_dir)``."""
    from accelerate.utils import set_seed

    if not run.output_dir:
        run.output_dir = f"runs/{default_name or run.task}-{run.strategy}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = Path(run.output_dir)
    # A seed per process (seed + rank): dropout differs across processes as it would across the
    # examples of one big batch. Initial weights still agree: DDP copies rank 0's to the others.
    accelerator = make_accelerator(run.training, run_dir)
    set_seed(run.training.seed + accelerator.process_index)
    start_trackers(accelerator, run_dir, config_to_dict(run))
    return accelerator, run_dir


def write_run_records(run_dir: Path, run: RunConfig, history: list[dict], accelerator) -> None:
    """The resolved config and per-epoch history; closes the trackers (training is over)."""
    for tracker in accelerator.trackers:  # not end_training(): that also ends the process group
        tracker.finish()
    if accelerator.is_main_process:
        import yaml

        atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(config_to_dict(run), sort_keys=False))
        atomic_write_text(run_dir / "history.json", json.dumps(history, indent=2))

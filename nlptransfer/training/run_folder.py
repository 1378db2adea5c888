"""The run folder: where a run's configuration, history, metrics log, checkpoints and tracker
logs go, and the process setup that comes with starting a run."""
from __future__ import annotations

import json
import shutil
import time
import warnings
from pathlib import Path

from ..atomic_files import atomic_write_text
from ..config import RunConfig, config_to_dict
from ..errors import ConfigError
from ..models.model_folder import MODEL_ENTRIES
from .processes import make_accelerator, process_state
from .tracking import METRICS_LOG, start_trackers

__all__ = ["start_run", "start_fit", "decide_output_dir", "write_run_records", "prepare_run_folder", "RUN_RECORDS"]

# What marks a folder as holding a run (or a saved model) that a fresh run would mix with.
RUN_RECORDS = (METRICS_LOG, "history.json", "checkpoints", "nlptransfer.json", "auto.json")
# Everything a run writes: what overwrite_output_dir=true removes (nothing else in the folder).
RUN_ENTRIES = (*MODEL_ENTRIES, *RUN_RECORDS, "mlruns", "plots", "report.md", "report.html", "candidates", "adapted",
               "auto.md", "recommend.md", "recommend.json", "recommend.png")


def prepare_run_folder(run_dir: Path, *, resuming: bool, overwrite: bool) -> None:
    """Refuse a run folder that would mix runs: a file, or a folder holding another run (its
    metrics.jsonl would be appended to, its checkpoints resumed by mistake, its model replaced),
    unless resuming that run or asked to overwrite it. Called before any model loads."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"output_dir {str(run_dir)!r} is a file; give a folder for the run's model and records.")
    used = [name for name in RUN_RECORDS if (run_dir / name).exists()]
    if not used or resuming:
        return
    if not overwrite:
        raise ConfigError(f"output_dir {str(run_dir)!r} already holds a run ({', '.join(used)}). Continue it with "
                          f"--resume-from-checkpoint latest, choose another output_dir, or pass "
                          f"overwrite_output_dir=true to replace it.")
    state = process_state()
    if state.is_main_process:
        tracker_logs = [p for p in run_dir.iterdir() if p.is_dir() and any(p.glob("events.out.tfevents.*"))]
        for entry in [*map(run_dir.joinpath, RUN_ENTRIES), *run_dir.glob("metrics-*"), *tracker_logs]:
            if entry.is_dir():
                shutil.rmtree(entry)
            elif entry.exists():
                entry.unlink()
    state.wait_for_everyone()


def decide_output_dir(run: RunConfig, name: str) -> Path:
    """``run.output_dir``, set first when empty to ``runs/NAME-<time>``, decided once on the main
    process: every process must write to one folder."""
    if not run.output_dir:
        from accelerate.utils import broadcast_object_list

        stamp = f"runs/{name}-{time.strftime('%Y%m%d-%H%M%S')}"
        run.output_dir = broadcast_object_list([stamp if process_state().is_main_process else None])[0]
    return Path(run.output_dir)


def start_run(run: RunConfig, default_name: str | None = None, *, unused_parameters: bool = False,
              config: dict | None = None):
    """Seed, pick and check the run folder, make the Accelerator (``make_accelerator``) and start its
    trackers, which log ``config`` (default: the run's). Returns ``(accelerator, run_dir)``."""
    from accelerate.utils import set_seed

    state = process_state()
    run_dir = decide_output_dir(run, f"{default_name or run.task}-{run.strategy}")
    prepare_run_folder(run_dir, resuming=run.training.resume_from_checkpoint is not None,
                       overwrite=run.training.overwrite_output_dir)
    if state.distributed_type.value == "FSDP":
        warnings.warn("FSDP support is experimental: saving and restoring the best weights under FSDP has not been "
                      "verified on GPUs yet (see docs/scaling.md).", stacklevel=2)
    # A seed per process (seed + rank): dropout differs across processes as it would across the
    # examples of one big batch. Initial weights still agree: DDP copies rank 0's to the others.
    accelerator = make_accelerator(run.training, run_dir, unused_parameters=unused_parameters)
    set_seed(run.training.seed + accelerator.process_index)
    start_trackers(accelerator, run_dir, config or config_to_dict(run))
    return accelerator, run_dir


def start_fit(run: RunConfig, train):
    """``start_run``, then the training split as the model sees it: ``train`` (a TextTable or
    TaggedTable) with the augmented copies ``augment=`` asks for (written to the run folder).
    Validation and test are never augmented. Returns ``(accelerator, run_dir, train)``."""
    from ..data.augmentation import augment_train
    from ..models.fill_mask import MaskedWordFiller

    accelerator, run_dir = start_run(run)
    cfg = run.training
    filler = MaskedWordFiller(cfg.augment_model, cfg.max_length) if cfg.augment == "mlm" else None
    return accelerator, run_dir, augment_train(train, cfg, run_dir, accelerator.print, filler)


def write_run_records(run_dir: Path, run: RunConfig | dict, history: list[dict], accelerator) -> None:
    """The resolved config (a RunConfig, or the dict of a multi-task one) and per-epoch history;
    closes the trackers (training is over)."""
    for tracker in accelerator.trackers:  # not end_training(): that also ends the process group
        tracker.finish()
    if accelerator.is_main_process:
        import yaml

        config = run if isinstance(run, dict) else config_to_dict(run)
        atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(config, sort_keys=False))
        atomic_write_text(run_dir / "history.json", json.dumps(history, indent=2))

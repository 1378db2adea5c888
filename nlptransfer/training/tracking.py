"""Training metrics: always a JSONL file in the run folder; TensorBoard and MLflow when asked.

The trackers are accelerate's own (``log_with``); this module only chooses where they write (inside
the run folder, MLflow as a local file store) and keeps the JSONL file consistent on resume.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..atomic_files import atomic_write_text
from ..errors import ConfigError

__all__ = ["METRICS_LOG", "tracker_names", "start_trackers", "MetricsLog"]

METRICS_LOG = "metrics.jsonl"
TRACKERS = ("tensorboard", "mlflow")


def tracker_names(report_to: str) -> list[str]:
    """``"tensorboard,mlflow"`` -> the names, checked (and importable) before any training."""
    from accelerate.utils import is_mlflow_available, is_tensorboard_available

    names = [n.strip() for n in report_to.split(",") if n.strip() and n.strip() != "none"]
    available = {"tensorboard": is_tensorboard_available, "mlflow": is_mlflow_available}
    for name in names:
        if name not in TRACKERS:
            raise ConfigError(f"report_to: unknown tracker {name!r}; choose from {', '.join(TRACKERS)}.")
        if not available[name]():
            raise ConfigError(f"report_to={name} needs the {name} package: pip install 'nlptransfer[tracking]'.")
    return names


def start_trackers(accelerator, run_dir: Path, config: dict) -> None:
    """Start the trackers the Accelerator was made with, logging the run's flat config."""
    if not accelerator.log_with:
        return
    if "mlflow" in [str(t) for t in accelerator.log_with] and "MLFLOW_TRACKING_URI" not in os.environ:
        os.environ["MLFLOW_TRACKING_URI"] = (run_dir / "mlruns").resolve().as_uri()  # a local file store,
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # which mlflow 3 only opens when told to
    # TensorBoard's hparams take only numbers, strings and booleans.
    flat = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in config.items()}
    accelerator.init_trackers(run_dir.name or "nlptransfer", config=flat,
                              init_kwargs={"mlflow": {"logging_dir": str(run_dir / "mlruns")}})


class MetricsLog:
    """Appends one JSON object per line to ``RUN/metrics.jsonl`` (main process) and forwards each
    row to the Accelerator's trackers."""

    def __init__(self, run_dir: Path | None, accelerator, phase: str):
        self.path = run_dir / METRICS_LOG if run_dir is not None else None
        self.accelerator, self.phase = accelerator, phase

    def log(self, row: dict, step: int) -> None:
        row = {"phase": self.phase, "step": step, **row}
        if self.path is not None and self.accelerator.is_main_process:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
        if self.accelerator.log_with:
            self.accelerator.log({f"{self.phase}/{k}": v for k, v in row.items()
                                  if k not in ("phase", "step") and isinstance(v, (int, float))}, step=step)

    def forget_after(self, step: int) -> None:
        """On resume: drop this phase's rows past the checkpoint, which the run is about to redo."""
        if self.path is None or not self.accelerator.is_main_process or not self.path.exists():
            return
        rows = [json.loads(line) for line in self.path.read_text(encoding="utf-8").split("\n") if line]
        kept = [json.dumps(r) for r in rows if not (r.get("phase") == self.phase and r["step"] > step)]
        atomic_write_text(self.path, "".join(line + "\n" for line in kept))

"""Checkpoint and resume for real: a training process killed with SIGKILL mid-epoch and resumed
ends with the weights and metrics of a run that was never interrupted."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from nlptransfer.errors import ConfigError
from nlptransfer.training.checkpoints import complete_checkpoints, resolve_checkpoint

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def _train_cmd(model, assets, out, *extra):
    return [sys.executable, "-m", "nlptransfer", "train", "--task", "sentiment", "--model", model,
            "--train", str(assets / "sentiment_train.csv"), "--validation", str(assets / "sentiment_validation.csv"),
            "--test", str(assets / "sentiment_validation.csv"), "--output-dir", str(out), "epochs=4", "batch_size=4",
            "max_length=32", "progress=false", "early_stopping_patience=none", "checkpoint_every_steps=5",
            "checkpoint_limit=2", "logging_steps=2", *extra]


def _weights(folder: Path) -> dict:
    weights = load_file(str(folder / "head.safetensors"))
    weights.update({f"backbone.{k}": v for k, v in load_file(str(folder / "backbone" / "model.safetensors")).items()})
    return weights


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tiny_models, assets, tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    r = subprocess.run(_train_cmd(tiny_models["bert"], assets, straight), cwd=ROOT, env=ENV, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    kept = complete_checkpoints(straight / "checkpoints")
    assert [p.name for p in kept] == ["step-00000040", "step-00000045"]  # 12 steps an epoch, pruned to 2

    proc = subprocess.Popen(_train_cmd(tiny_models["bert"], assets, killed), cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not complete_checkpoints(killed / "checkpoints") and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (killed / "nlptransfer.json").exists()  # it really was cut short
    latest = resolve_checkpoint("latest", killed / "checkpoints")
    progress = json.loads((latest / "progress.json").read_text())
    assert 0 < progress["batches_done"] < 12 and progress["epoch"] < 4  # mid-epoch

    r = subprocess.run(_train_cmd(tiny_models["bert"], assets, killed, "--resume-from-checkpoint", "latest"), cwd=ROOT,
                       env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"resumed from {latest}" in r.stdout
    a, b = _weights(straight), _weights(killed)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=0, atol=1e-6, msg=name)
    test_a = json.loads((straight / "metrics-test.json").read_text())
    test_b = json.loads((killed / "metrics-test.json").read_text())
    assert test_b["accuracy"] == test_a["accuracy"] and test_b["macro_f1"] == test_a["macro_f1"]
    hist_a, hist_b = (json.loads((d / "history.json").read_text()) for d in (straight, killed))
    assert [h["validation_score"] for h in hist_b] == pytest.approx([h["validation_score"] for h in hist_a], abs=1e-6)
    # metrics.jsonl: the steps the killed run had logged past its checkpoint are not there twice
    rows = [json.loads(line) for line in (killed / "metrics.jsonl").read_text().splitlines()]
    steps = [(r["step"], "loss" in r) for r in rows]
    assert len(steps) == len(set(steps))
    assert len(rows) == len((straight / "metrics.jsonl").read_text().splitlines())

    # A different batch layout cannot continue from that position: a clear error, exit 2.
    r = subprocess.run(_train_cmd(tiny_models["bert"], assets, killed, "resume_from_checkpoint=latest",
                                  "batch_size=8"), cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 2 and "batch_size: 4 then, 8 now" in r.stderr, r.stderr[-2000:]


def test_unfinished_checkpoint_is_never_latest(tmp_path):
    root = tmp_path / "checkpoints"
    for name in ("step-00000005", "step-00000010"):
        (root / name).mkdir(parents=True)
        (root / name / "progress.json").write_text("{}")
    (root / ".tmp-step-00000015").mkdir()  # a write a kill interrupted
    (root / ".tmp-step-00000015" / "model.safetensors").write_bytes(b"half")
    (root / "step-00000020").mkdir()  # no progress.json: not complete
    assert resolve_checkpoint("latest", root) == root / "step-00000010"
    assert resolve_checkpoint("latest", tmp_path / "none") is None  # a first run of a re-queued job
    with pytest.raises(ConfigError, match="not a complete nlptransfer checkpoint.*step-00000005"):
        resolve_checkpoint(str(root / "step-00000020"), root)

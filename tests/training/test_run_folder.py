"""The run folder never mixes runs: a used folder is replaced only when asked, and a checkpoint
resumes only the run it was written by (same model, strategy and data)."""
import json

import pandas as pd
import pytest

from nlptransfer import ConfigError, TextClassifier, TrainConfig


def _fit(model, train, out, strategy="full", **settings):
    cfg = TrainConfig(**{"epochs": 1, "batch_size": 8, "max_length": 32, "progress": False, **settings})
    return TextClassifier(model, "sentiment", strategy, training=cfg, output_dir=str(out)).fit(train)


def test_overwrite_replaces_the_old_run_and_nothing_else(tiny_models, assets, tmp_path):
    out = tmp_path / "run"
    _fit(tiny_models["bert"], assets / "sentiment_train.csv", out, epochs=2, checkpoint_every_epoch=True).save(out)
    (out / "notes.txt").write_text("mine")  # not the run's: must survive
    assert (out / "checkpoints").exists() and len((out / "metrics.jsonl").read_text().splitlines()) > 2
    with pytest.raises(ConfigError, match="already holds a run"):
        _fit(tiny_models["bert"], assets / "sentiment_train.csv", out)
    _fit(tiny_models["bert"], assets / "sentiment_train.csv", out, overwrite_output_dir=True, logging_steps=1000)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1]  # only the new run's one epoch row: nothing appended to the old log
    assert not (out / "checkpoints").exists() and not (out / "nlptransfer.json").exists()
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("change", ["data", "strategy"])
def test_a_checkpoint_resumes_only_its_own_run(change, tiny_models, assets, tmp_path):
    out = tmp_path / "run"
    train = pd.read_csv(assets / "sentiment_train.csv")
    _fit(tiny_models["bert"], train, out, checkpoint_every_epoch=True, epochs=2, early_stopping_patience=None)
    assert (out / "checkpoints").exists()
    other = train.assign(label=train["label"][::-1].to_numpy()) if change == "data" else train
    settings = {"resume_from_checkpoint": "latest", "epochs": 2, "early_stopping_patience": None}
    if change == "strategy":
        settings["strategy"] = "lora"
    with pytest.raises(ConfigError, match=rf"Cannot resume from .*{change}: "):
        _fit(tiny_models["bert"], other, out, **settings)

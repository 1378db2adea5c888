"""Frozen and unmerged LoRA models save a checked reference to their base, not a copy of it."""
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from nlptransfer import ModelLoadError, TextClassifier, TrainConfig, load

TEXTS = ["a great film", "the hotel was awful", "fine"]


def _weights(folder):
    return sorted(p.name for p in (folder / "backbone").glob("*.safetensors"))


@pytest.mark.parametrize("strategy", ["frozen", "lora"])
def test_unchanged_backbones_are_referenced_and_load_the_same(strategy, tiny_models, assets, tmp_path):
    base = tmp_path / "base"
    shutil.copytree(tiny_models["roberta"], base)
    clf = TextClassifier(str(base), "sentiment", strategy, output_dir=str(tmp_path / "run"),
                         training=TrainConfig(epochs=1, max_length=32, progress=False)).fit(assets / "sentiment_train.csv")
    small, full = clf.save(tmp_path / "small"), clf.save(tmp_path / "full", self_contained=True)
    assert _weights(small) == [] and (small / "backbone" / "base.json").exists()
    assert _weights(full) and not (full / "backbone" / "base.json").exists()
    size = lambda folder: sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())  # noqa: E731
    assert size(small) < size(full) / 2
    for folder in (small, full):
        np.testing.assert_array_equal(load(folder).predict_proba(TEXTS), clf.predict_proba(TEXTS))

    # the base changes on disk: the small folder refuses, the self-contained one does not care
    from transformers import AutoModel

    changed = AutoModel.from_pretrained(base)
    with torch.no_grad():
        next(changed.parameters()).add_(0.01)
    changed.save_pretrained(base)
    with pytest.raises(ModelLoadError, match="different weights"):
        load(small)
    np.testing.assert_array_equal(load(full).predict_proba(TEXTS), clf.predict_proba(TEXTS))
    shutil.rmtree(base)
    result = subprocess.run([sys.executable, "-m", "nlptransfer", "predict", str(small), "--text", "hi"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "self_contained=true" in result.stderr and str(base) in result.stderr


def test_trained_and_merged_backbones_are_always_copied(tiny_models, assets, tmp_path):
    cfg = TrainConfig(epochs=1, max_length=32, progress=False)
    full = TextClassifier(tiny_models["bert"], "sentiment", "full", training=cfg, output_dir=str(tmp_path / "a"))
    assert _weights(full.fit(assets / "sentiment_train.csv").save(tmp_path / "full"))
    lora = TextClassifier(tiny_models["bert"], "sentiment", "lora", training=cfg, output_dir=str(tmp_path / "b"))
    merged = lora.fit(assets / "sentiment_train.csv").merge().save(tmp_path / "merged")
    assert _weights(merged) and not (merged / "backbone" / "base.json").exists()
    np.testing.assert_allclose(load(merged).predict_proba(TEXTS), lora.predict_proba(TEXTS), atol=1e-5)
    run_option = TextClassifier(tiny_models["bert"], "sentiment", "frozen", output_dir=str(tmp_path / "c"),
                                training=TrainConfig(max_length=32, progress=False, self_contained=True))
    assert _weights(run_option.fit(assets / "sentiment_train.csv").save(tmp_path / "option"))

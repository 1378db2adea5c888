"""Prediction needs no training options and keeps nothing between calls."""
import gc

import pytest
from accelerate.data_loader import DataLoaderShard

from nlptransfer import TextClassifier, TrainConfig, load


def _live_loaders() -> int:
    gc.collect()
    return sum(isinstance(o, DataLoaderShard) for o in gc.get_objects())


def test_loaded_model_predicts_without_its_trackers_and_keeps_no_loaders(tiny_models, assets, tmp_path, monkeypatch):
    pytest.importorskip("tensorboard")
    cfg = TrainConfig(epochs=1, batch_size=8, max_length=32, progress=False, report_to="tensorboard")
    clf = TextClassifier(tiny_models["bert"], "sentiment", "full", training=cfg, output_dir=str(tmp_path / "run"))
    folder = clf.fit(assets / "sentiment_train.csv").save(tmp_path / "model")
    import accelerate.utils

    # a machine without tensorboard: training with report_to=tensorboard would be refused there...
    monkeypatch.setattr(accelerate.utils, "is_tensorboard_available", lambda: False)
    from nlptransfer.errors import ConfigError
    from nlptransfer.training.processes import make_accelerator

    with pytest.raises(ConfigError, match="report_to=tensorboard needs the tensorboard package"):
        make_accelerator(cfg)
    # ... but the trained model predicts there all the same
    model = load(folder)
    expected = model.predict(["a real joy", "waste of money"])
    before = _live_loaders()
    for _ in range(5):  # a serving loop: nothing accumulates
        assert model.predict(["a real joy", "waste of money"]) == expected
    assert _live_loaders() <= before

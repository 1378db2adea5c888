"""The saved model folder: written atomically, a failed save keeps the previous model."""
import numpy as np
import pytest

from nlptransfer import TextClassifier, TrainConfig, load


def test_failed_save_keeps_the_previous_model(tiny_models, assets, tmp_path, monkeypatch):
    clf = TextClassifier(tiny_models["bert"], "sentiment", "frozen", output_dir=str(tmp_path / "run"),
                         training=TrainConfig(epochs=1, progress=False)).fit(assets / "sentiment_train.csv")
    folder = clf.save(tmp_path / "model")
    before = load(folder).predict_proba(["great"])
    import nlptransfer.models.model_folder as persistence

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(persistence, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        clf.save(folder)
    np.testing.assert_array_equal(load(folder).predict_proba(["great"]), before)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".model")] == []

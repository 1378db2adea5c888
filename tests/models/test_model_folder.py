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


@pytest.mark.parametrize("fail_at", ["writing", "swapping"])
def test_failed_save_over_a_run_folder_keeps_its_records(fail_at, tiny_models, assets, tmp_path, monkeypatch):
    """Saving into the run folder a second time, and failing: the run's records (metrics.jsonl,
    metrics-*, checkpoints/, history.json) and the model are all still there, byte for byte."""
    import hashlib
    from pathlib import Path

    run = tmp_path / "run"
    clf = TextClassifier(tiny_models["bert"], "sentiment", "full", output_dir=str(run),
                         training=TrainConfig(epochs=1, progress=False, checkpoint_every_epoch=True, max_length=32))
    clf.fit(assets / "sentiment_train.csv", assets / "sentiment_validation.csv").save(run)

    def snapshot():
        return {p.relative_to(run).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in run.rglob("*") if p.is_file()}

    before = snapshot()
    assert {"metrics.jsonl", "metrics-validation.json", "history.json", "nlptransfer.json"} <= set(before)
    assert any(name.startswith("checkpoints/") for name in before)
    import nlptransfer.models.model_folder as model_folder

    if fail_at == "writing":
        monkeypatch.setattr(model_folder, "save_file", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    else:  # the last step, after the records were moved into the new folder
        real = Path.rename

        def rename(self, target):
            if self.name.startswith(".run.tmp-") and Path(target).name == "run":
                raise OSError("disk full")
            return real(self, target)

        monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OSError, match="disk full"):
        clf.save(run)
    monkeypatch.undo()
    assert snapshot() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".run")] == []

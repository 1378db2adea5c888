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


def test_padding_capped_batches_cover_every_position_once():
    from nlptransfer.models.inference import MAX_PADDING, length_batches

    lengths = [1, 5, 5, 6, 20, 21, 22, 23, 24, 100]
    assert length_batches(lengths, 4, cap_padding=False) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    capped = length_batches(lengths, 4, cap_padding=True)
    assert capped == [[0], [1, 2], [3], [4, 5, 6], [7, 8], [9]]  # worked out by hand at a 5% cap
    for batch in capped:
        padded = len(batch) * lengths[batch[-1]]
        assert padded - sum(lengths[i] for i in batch) <= MAX_PADDING * padded


@pytest.mark.parametrize("family", ["gpt2", "bert"])
def test_a_texts_scores_do_not_depend_on_its_batch_mates(family, tiny_models, assets, tmp_path):
    # GPT-2's tokenizer gives "" no tokens at all: it must still be scored the same alone and in company
    clf = TextClassifier(tiny_models[family], "sentiment", "full", output_dir=str(tmp_path / "run"),
                         training=TrainConfig(epochs=1, batch_size=8, max_length=32, progress=False))
    clf.fit(assets / "sentiment_train.csv")
    texts = ["", "short one", "a rather longer text, " * 5, "mid length text here"]
    together = clf.predict_proba(texts)
    alone = [clf.predict_proba([t])[0] for t in texts]
    assert together.shape == (4, len(clf.classes_))
    assert abs(together - alone).max() < 1e-5

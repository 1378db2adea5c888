"""Strategy x family x task on tiny random-init models with real tokenizers."""
import numpy as np
import pytest
from conftest import FAMILIES

from nlptransfer import TextClassifier, TrainConfig, load
from nlptransfer.strategies import count_parameters

CASES = [(s, f, t) for s in ("full", "frozen", "lora") for f in FAMILIES for t in ("sentiment", "spam")]
HIDDEN = 32


def _fit(model, task, strategy, assets, tmp_path, **overrides):
    settings = dict(epochs=4, batch_size=8, learning_rate={"full": 1e-3, "lora": 5e-3, "frozen": 5e-2}[strategy],
                    early_stopping_patience=None, warmup_ratio=0.0, progress=False, max_length=32)
    settings.update(overrides)
    clf = TextClassifier(model, task, strategy, training=TrainConfig(**settings), output_dir=str(tmp_path / "run"))
    return clf.fit(assets / f"{task}_train.csv", assets / f"{task}_validation.csv")


@pytest.mark.parametrize("strategy,family,task", CASES, ids=["-".join(c) for c in CASES])
def test_strategy_family_task(strategy, family, task, tiny_models, assets, tmp_path):
    clf = _fit(tiny_models[family], task, strategy, assets, tmp_path)
    losses = [row["train_loss"] for row in clf.history_]
    assert losses[-1] < losses[0], f"loss did not decrease: {losses}"

    n_classes = len(clf.classes_)
    head = HIDDEN * n_classes + n_classes
    count = clf.parameters_
    if strategy == "full":
        assert count.trainable == count.total
    elif strategy == "frozen":
        assert count.trainable == head
    else:
        lora = sum(p.numel() for n, p in clf.model_.named_parameters() if "lora_" in n)
        assert lora > 0 and count.trainable == lora + head
        assert all(p.requires_grad == ("lora_" in n or n.startswith("head.")) for n, p in clf.model_.named_parameters())

    texts = ["the film was great", "WIN a FREE prize now", "see you at lunch", "the hotel was awful"]
    before = clf.predict_proba(texts)
    np.testing.assert_allclose(before.sum(1), 1.0, rtol=1e-5)
    folder = clf.save(tmp_path / "saved")
    again = load(folder)
    np.testing.assert_array_equal(again.predict_proba(texts), before)
    assert again.predict(texts) == clf.predict(texts)
    if task == "spam":
        assert again.threshold_ == clf.threshold_ and 0.0 <= clf.threshold_ <= 1.0
    if strategy == "lora":
        assert (folder / "adapter" / "adapter_config.json").exists()
        merged = clf.merge()
        np.testing.assert_allclose(merged.predict_proba(texts), before, atol=1e-5)
        assert merged.predict(texts) == again.predict(texts)
        np.testing.assert_allclose(load(merged.save(tmp_path / "merged")).predict_proba(texts), before, atol=1e-5)


@pytest.mark.parametrize("family", ["bert", "gpt2"])
def test_frozen_sklearn_head(family, tiny_models, assets, tmp_path):
    clf = _fit(tiny_models[family], "sentiment", "frozen", assets, tmp_path, head="sklearn")
    assert clf.score(*_validation(assets)) >= 0.5
    assert count_parameters(clf.model_).trainable == HIDDEN * 2 + 2
    np.testing.assert_array_equal(load(clf.save(tmp_path / "s")).predict_proba(["great"]), clf.predict_proba(["great"]))


def _validation(assets):
    import pandas as pd

    frame = pd.read_csv(assets / "sentiment_validation.csv")
    return frame["text"].tolist(), frame["label"].tolist()

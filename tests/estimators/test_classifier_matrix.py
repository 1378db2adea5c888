"""Strategy x family x task on tiny random-init models with real tokenizers."""
import re

import numpy as np
import pytest
from conftest import FAMILIES, LORA_PARAMETERS

from nlptransfer import TextClassifier, TrainConfig, load
from nlptransfer.strategies import count_parameters

CASES = [(s, f, t) for s in ("full", "frozen", "lora") for f in FAMILIES for t in ("sentiment", "spam")]
HIDDEN = 32


def _fit(model, task, strategy, assets, tmp_path, **overrides):
    settings = dict(epochs=4, batch_size=8, learning_rate={"full": 1e-3, "lora": 5e-3, "frozen": 5e-2}[strategy],
                    early_stopping_patience=None, warmup_ratio=0.0, progress=False, max_length=32)
    if strategy == "frozen":  # the head trained by the loop (its loss must fall); the sklearn head has its own test
        settings["head"] = "linear"
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
        lora = LORA_PARAMETERS[family]
        assert sum(p.numel() for n, p in clf.model_.named_parameters() if "lora_" in n) == lora
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
    """The head is scikit-learn's LogisticRegression on the cached features, copied exactly: on any
    texts, our probabilities are the ones LogisticRegression gives for the same features."""
    import pandas as pd
    from accelerate import Accelerator
    from sklearn.linear_model import LogisticRegression

    from nlptransfer.data.batching import encode_texts, text_collator
    from nlptransfer.models.inference import extract_features

    clf = _fit(tiny_models[family], "sentiment", "frozen", assets, tmp_path, head="sklearn")
    assert count_parameters(clf.model_).trainable == HIDDEN * 2 + 2

    def features(texts):
        data = encode_texts(clf.tokenizer_, texts, 32)
        return extract_features(clf.model_, data, text_collator(clf.tokenizer_), Accelerator(cpu=True), 64).numpy()

    train = pd.read_csv(assets / "sentiment_train.csv")
    chosen = re.fullmatch(r"LogisticRegression\(C=(.+)\)", clf.history_[0]["head"])  # C chosen on validation
    reference = LogisticRegression(C=float(chosen[1]), max_iter=3000, random_state=clf.run_config_.training.seed)
    reference.fit(features(train["text"].tolist()), [clf.classes_.index(y) for y in train["label"]])
    texts, labels = _validation(assets)
    np.testing.assert_allclose(clf.predict_proba(texts), reference.predict_proba(features(texts)), atol=1e-5)
    majority = max(train["label"].value_counts()) / len(train)
    assert clf.score(train["text"], train["label"]) > majority  # it fits its own training data
    np.testing.assert_array_equal(load(clf.save(tmp_path / "s")).predict_proba(["great"]), clf.predict_proba(["great"]))


def _validation(assets):
    import pandas as pd

    frame = pd.read_csv(assets / "sentiment_validation.csv")
    return frame["text"].tolist(), frame["label"].tolist()

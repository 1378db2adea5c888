"""The contrastive strategy: the backbone learns to put same-label texts together, then a
LogisticRegression head on its embeddings; every family, save and load, not for NER."""
import numpy as np
import pandas as pd
import pytest
import torch
from accelerate import Accelerator

from nlptransfer import ConfigError, EntityTagger, TextClassifier, TrainConfig, load
from nlptransfer.data.batching import encode_texts, text_collator
from nlptransfer.models.inference import extract_features

from conftest import FAMILIES


def _separation(clf, texts, labels) -> float:
    """Mean cosine similarity of same-label pairs minus that of different-label pairs."""
    data = encode_texts(clf.tokenizer_, texts, 32)
    emb = torch.nn.functional.normalize(extract_features(clf.model_, data, text_collator(clf.tokenizer_),
                                                         Accelerator(cpu=True), 64), dim=-1)
    sim, same = emb @ emb.T, np.equal.outer(labels, labels)
    off = ~np.eye(len(labels), dtype=bool)
    return float(sim[torch.as_tensor(same & off)].mean() - sim[torch.as_tensor(~same)].mean())


@pytest.mark.parametrize("family", FAMILIES)
def test_contrastive_pulls_classes_apart_then_fits_a_head(family, tiny_models, assets, tmp_path):
    train = pd.read_csv(assets / "sentiment_train.csv")
    texts, labels = train["text"].tolist(), train["label"].tolist()
    cfg = TrainConfig(batch_size=8, max_length=32, progress=False, learning_rate=3e-3, contrastive_pairs=640)
    before = TextClassifier(tiny_models[family], "sentiment", "frozen", output_dir=str(tmp_path / "b"),
                            training=TrainConfig(max_length=32, progress=False)).fit(train)
    clf = TextClassifier(tiny_models[family], "sentiment", "contrastive", training=cfg, output_dir=str(tmp_path / "r"))
    clf.fit(train, assets / "sentiment_validation.csv")
    assert _separation(clf, texts, labels) > _separation(before, texts, labels) + 0.05
    assert clf.parameters_.trainable == clf.parameters_.total
    assert clf.history_[0]["head"].startswith("LogisticRegression(C=")  # C chosen on validation
    assert clf.score(texts, labels) > max(train["label"].value_counts()) / len(train)  # beats the majority class
    probe = ["the film was great", "the hotel was awful"]
    features = extract_features(clf.model_, encode_texts(clf.tokenizer_, probe, 32), text_collator(clf.tokenizer_),
                                Accelerator(cpu=True), 64)
    torch.testing.assert_close(features.norm(dim=-1), torch.ones(2))  # the head reads unit vectors
    loaded = load(clf.save(tmp_path / "saved"))
    assert loaded.model_.unit_features  # and so does the loaded model
    np.testing.assert_array_equal(loaded.predict_proba(probe), clf.predict_proba(probe))


def test_contrastive_spam_gets_weights_and_a_threshold(tiny_models, assets, tmp_path):
    cfg = TrainConfig(batch_size=8, max_length=32, progress=False, contrastive_pairs=64)
    clf = TextClassifier(tiny_models["bert"], "spam", "contrastive", training=cfg, output_dir=str(tmp_path / "r"))
    clf.fit(assets / "spam_train.csv", assets / "spam_validation.csv")
    assert clf.positive_label_ == "spam" and 0 <= clf.threshold_ <= 1
    rows = [line for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines() if '"pairs"' in line]
    assert rows  # the pair phase was logged


def test_contrastive_is_not_for_ner(tiny_models, assets):
    with pytest.raises(ConfigError, match="strategy 'contrastive' is for text classification"):
        EntityTagger(tiny_models["bert"], "contrastive").fit(assets / "ner_train.txt")

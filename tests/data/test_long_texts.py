"""Texts longer than max_length: counted, and cut to the start, to the start and end, or read in
overlapping windows whose predictions are pooled per text."""
import numpy as np
import pytest

from nlptransfer import TextClassifier, TrainConfig, load
from nlptransfer.data.batching import count_over_limit, encode_texts
from nlptransfer.models.pretrained import load_tokenizer, model_architecture
from nlptransfer.task_types import TASK_TYPES, text_probabilities

from conftest import FAMILIES

LONG = "the film was great and the cast was fine " * 6 + "FREE PRIZE"
SHORT = "WIN a prize"


def _tokenizer(folder):
    return load_tokenizer(folder, model_architecture(folder)[1])


@pytest.mark.parametrize("family", FAMILIES)
def test_modes_keep_what_they_say(family, tiny_models):
    tok = _tokenizer(tiny_models[family])
    texts, budget = [LONG, SHORT], 16 - tok.num_special_tokens_to_add(pair=False)
    bare = tok(texts, add_special_tokens=False)["input_ids"]
    assert len(bare[0]) > budget >= len(bare[1])
    truncated = encode_texts(tok, texts, 16, [1, 0])
    assert truncated.input_ids == tok(texts, truncation=True, max_length=16)["input_ids"]  # the tokenizer's own cut
    assert truncated.over_limit == 1 == count_over_limit(tok, texts, 16)
    head_tail = encode_texts(tok, texts, 16, [1, 0], "head_tail")
    kept = [t for t in head_tail.input_ids[0] if t not in tok.all_special_ids]
    assert len(head_tail.input_ids[0]) == 16 and kept[-len(bare[0][-8:]):] == bare[0][-8:]  # the end is kept
    assert kept[:budget // 4] == bare[0][:budget // 4]  # and the start
    assert head_tail.input_ids[1] == truncated.input_ids[1]  # short texts are untouched
    chunks = encode_texts(tok, texts, 16, [1, 0], "chunks")
    assert chunks.groups[-1] == 1 and chunks.groups.count(0) > 1 and chunks.n_texts == 2
    assert chunks.labels == [1] * chunks.groups.count(0) + [0] and chunks.text_labels == [1, 0]
    covered = {t for row, g in zip(chunks.input_ids, chunks.groups) if g == 0 for t in row}
    assert set(bare[0]) <= covered and all(len(row) <= 16 for row in chunks.input_ids)


def test_chunk_pooling_per_task():
    rows = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    groups = [0, 0, 0, 1]
    spam = text_probabilities(TASK_TYPES["spam"], rows, groups, positive_index=1)
    np.testing.assert_allclose(spam, [[0.2, 0.8], [0.7, 0.3]])  # spam if any window is
    sentiment = text_probabilities(TASK_TYPES["sentiment"], rows, groups, positive_index=None)
    np.testing.assert_allclose(sentiment, [[1.7 / 3, 1.3 / 3], [0.7, 0.3]])
    assert text_probabilities(TASK_TYPES["sentiment"], rows, None, None) is rows


@pytest.mark.parametrize("mode", ["head_tail", "chunks"])
def test_fit_predict_save_load_with_long_texts(mode, tiny_models, assets, tmp_path):
    import pandas as pd

    train = pd.read_csv(assets / "spam_train.csv")
    train["text"] = [t + " and more" * 8 if i % 3 == 0 else t for i, t in enumerate(train["text"])]
    cfg = TrainConfig(epochs=1, batch_size=8, max_length=16, long_texts=mode, progress=False)
    clf = TextClassifier(tiny_models["bert"], "spam", "full", training=cfg, output_dir=str(tmp_path / "run"))
    clf.fit(train, assets / "spam_validation.csv")
    texts = [LONG, SHORT, LONG + " " + LONG]
    proba = clf.predict_proba(texts)
    assert proba.shape == (3, 2) and np.allclose(proba.sum(1), 1)
    metrics = clf.evaluate(train)
    over = count_over_limit(clf.tokenizer_, train["text"].tolist(), 16)
    assert metrics["long_texts"] == mode and metrics["texts_over_max_length"] == over > 0
    assert metrics["train_texts_over_max_length"] == over
    again = load(clf.save(tmp_path / "model"))
    np.testing.assert_array_equal(again.predict_proba(texts), proba)

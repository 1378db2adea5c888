"""Pooling, pad policy, hub errors, spam threshold and weights, metrics, frozen caching, atomic save."""
import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from nlptransfer import ModelLoadError, TextClassifier, TrainConfig, load
from nlptransfer.checkpoints import load_backbone, load_tokenizer, model_architecture
from nlptransfer.metrics import classification_metrics, positive_class_metrics
from nlptransfer.modeling import pool
from nlptransfer.tasks import CLASSIFICATION_TASKS, class_weights, decide, tune_threshold


def test_last_pooling_ignores_padding_on_either_side():
    hidden = torch.arange(2 * 4 * 1, dtype=torch.float32).reshape(2, 4, 1)
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert pool(hidden, right, "last").flatten().tolist() == [1.0, 7.0]
    assert pool(hidden, left, "last").flatten().tolist() == [3.0, 7.0]
    assert pool(hidden, right, "mean").flatten().tolist() == [0.5, 5.5]


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_decoders_get_pad_eos_synced_and_right_results(family, tiny_models):
    _, arch = model_architecture(tiny_models[family])
    tok = load_tokenizer(tiny_models[family], arch)
    backbone = load_backbone(tiny_models[family], arch, tok.pad_token_id)
    assert arch.decoder and arch.pooling == "last"
    assert tok.pad_token == tok.eos_token and backbone.config.pad_token_id == tok.eos_token_id
    # A padded batch pools the same vector as the text alone: padding never leaks into features.
    from nlptransfer.modeling import TaskModel

    net = TaskModel(backbone, 2, "last").eval()
    batch = tok(["the film was great", "bad"], padding=True, return_tensors="pt")
    alone = tok(["bad"], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(net.features(batch["input_ids"], batch["attention_mask"])[1],
                                   net.features(alone["input_ids"], alone["attention_mask"])[0], atol=1e-5, rtol=1e-5)


def test_unreachable_hub_id_names_the_ways_out(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as e:
        model_architecture("some-org/not-a-cached-model")
    message = str(e.value)
    for hint in ("local folder", "alias", "minilm-l6", "HF_HUB_OFFLINE"):
        assert hint in message


def test_class_weights_auto_only_for_imbalanced_binary():
    spam, sentiment = CLASSIFICATION_TASKS["spam"], CLASSIFICATION_TASKS["sentiment"]
    imbalanced, balanced = [0] * 90 + [1] * 10, [0] * 50 + [1] * 50
    w = class_weights(spam, imbalanced, 2, "auto")
    torch.testing.assert_close(w, torch.tensor([100 / 180, 100 / 20]))
    assert class_weights(spam, balanced, 2, "auto") is None
    assert class_weights(sentiment, imbalanced, 2, "auto") is None
    assert class_weights(sentiment, balanced, 2, "on") is not None
    assert class_weights(spam, imbalanced, 2, "off") is None


def test_threshold_best_f1_and_target_precision():
    scores = np.array([0.1, 0.2, 0.35, 0.4, 0.6, 0.7, 0.8, 0.9])
    truth = np.array([0, 0, 1, 0, 1, 0, 1, 1], dtype=bool)
    best = tune_threshold(scores, truth)
    f1_at = lambda t: f1_score(truth, scores >= t)  # noqa: E731
    assert f1_at(best) == max(f1_at(t) for t in scores)
    strict = tune_threshold(scores, truth, target_precision=1.0)
    assert strict == 0.75 and (truth[scores >= strict]).all()  # halfway between 0.7 and 0.8: no score on it
    assert not np.isin(best, scores)
    proba = np.stack([1 - scores, scores], 1)
    assert decide(proba, 1, 0.8).tolist() == [0, 0, 0, 0, 0, 0, 1, 1]


def test_metrics_match_sklearn():
    y_true = ["a", "b", "c", "a", "b", "c", "a"]
    y_pred = ["a", "b", "a", "a", "c", "c", "b"]
    m = classification_metrics(y_true, y_pred, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(4 / 7)
    assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert m["per_class"]["a"]["support"] == 3
    assert m["confusion_matrix"]["matrix"] == [[2, 1, 0], [0, 1, 1], [1, 0, 1]]
    p = positive_class_metrics(["ham", "spam", "spam"], ["ham", "spam", "ham"], [0.1, 0.9, 0.4], "spam")
    assert (p["positive_precision"], p["positive_recall"], p["pr_auc"]) == (1.0, 0.5, 1.0)


def test_frozen_runs_the_backbone_once_per_example(tiny_models, assets, tmp_path):
    import pandas as pd

    calls = []
    clf = TextClassifier(tiny_models["bert"], "sentiment", "frozen", output_dir=str(tmp_path),
                         training=TrainConfig(epochs=5, progress=False, early_stopping_patience=None))
    import nlptransfer.modeling as modeling

    original = modeling.TaskModel.features

    def counting(self, input_ids, attention_mask):
        calls.append(input_ids.shape[0])
        return original(self, input_ids, attention_mask)

    modeling.TaskModel.features = counting
    try:
        clf.fit(assets / "sentiment_train.csv", assets / "sentiment_validation.csv")
    finally:
        modeling.TaskModel.features = original
    n_train = len(pd.read_csv(assets / "sentiment_train.csv"))
    n_val = len(pd.read_csv(assets / "sentiment_validation.csv"))
    # once per example: the validation report reuses the cached-feature logits of the best epoch
    assert sum(calls) == n_train + n_val
    assert len(clf.history_) == 5


def test_failed_save_keeps_the_previous_model(tiny_models, assets, tmp_path, monkeypatch):
    clf = TextClassifier(tiny_models["bert"], "sentiment", "frozen", output_dir=str(tmp_path / "run"),
                         training=TrainConfig(epochs=1, progress=False)).fit(assets / "sentiment_train.csv")
    folder = clf.save(tmp_path / "model")
    before = load(folder).predict_proba(["great"])
    import nlptransfer.persistence as persistence

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(persistence, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        clf.save(folder)
    np.testing.assert_array_equal(load(folder).predict_proba(["great"]), before)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".model")] == []

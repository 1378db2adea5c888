"""Training by strategy: frozen computes each example's features once."""
from nlptransfer import TextClassifier, TrainConfig


def test_frozen_runs_the_backbone_once_per_example(tiny_models, assets, tmp_path):
    import pandas as pd

    calls = []
    clf = TextClassifier(tiny_models["bert"], "sentiment", "frozen", output_dir=str(tmp_path),
                         training=TrainConfig(epochs=5, progress=False, early_stopping_patience=None,
                                              head="linear"))
    import nlptransfer.models.task_model as modeling

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


def test_probe_head_init_starts_fine_tuning_from_the_fitted_probe(tiny_models, assets, tmp_path, capsys):
    import re

    import torch

    # a learning rate too small to move anything: what the run ends with is where it started
    cfg = dict(epochs=1, learning_rate=1e-12, max_length=32, progress=False, warmup_ratio=0.0)
    probed = TextClassifier(tiny_models["bert"], "sentiment", "full", output_dir=str(tmp_path / "p"),
                            training=TrainConfig(head_init="probe", **cfg))
    probed.fit(assets / "sentiment_train.csv", assets / "sentiment_validation.csv")
    said = re.search(r"head_init=probe: the head starts as LogisticRegression\(C=[\d.e+-]+\), "
                     r"validation (\w+)=([\d.]+)", capsys.readouterr().out)
    assert said, "the probe's fit was not reported"
    # the probe's validation score is the first epoch's: the fine-tuning began from that head
    assert abs(probed.history_[0]["validation_score"] - float(said[2])) < 1e-3
    # a binary LogisticRegression is copied as (0, w): the first row stays zero, unlike a random head
    head = probed.model_.head.weight
    assert torch.allclose(head[0], torch.zeros_like(head[0]), atol=1e-6) and head[1].abs().max() > 1e-3
    plain = TextClassifier(tiny_models["bert"], "sentiment", "full", output_dir=str(tmp_path / "r"),
                           training=TrainConfig(**cfg))
    plain.fit(assets / "sentiment_train.csv", assets / "sentiment_validation.csv")
    assert plain.model_.head.weight[0].abs().max() > 1e-3

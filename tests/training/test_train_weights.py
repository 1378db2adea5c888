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

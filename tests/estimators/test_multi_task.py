"""Multi-task: one backbone shared by sentiment, spam and NER heads, trained through the one loop;
the epoch kept by the weighted mean of the tasks' validation scores; save/load and a task exported
on its own predict exactly as inside the model; bad configurations are named before any model loads."""
import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from nlptransfer import ConfigError, DataError, EntityTagger, MultiTaskModel, TextClassifier, TrainConfig, load
from nlptransfer.cli import main

NO_MODEL = "no-such-org/no-such-model"
TEXTS = ["WIN a FREE prize now", "see you at lunch", "a wonderful film", "dull and boring"]
SENTENCES = [["Anna", "visited", "Paris"], ["Acme", "hired", "Bob", "Smith"]]


def _tasks(assets):
    return {"sentiment": ("sentiment", assets / "sentiment_train.csv", assets / "sentiment_validation.csv"),
            "spam": ("spam", assets / "spam_train.csv", assets / "spam_validation.csv"),
            "ner": ("ner", assets / "ner_train.txt", assets / "ner_validation.txt")}


@pytest.fixture(scope="module")
def fitted(tiny_models, assets, tmp_path_factory):
    run = tmp_path_factory.mktemp("multi") / "run"
    return MultiTaskModel(tiny_models["bert"], "full", _tasks(assets), weights={"sentiment": 2, "spam": 1, "ner": 1},
                          training=TrainConfig(epochs=3, batch_size=8, learning_rate=1e-3, progress=False, seed=1),
                          output_dir=str(run)).fit()


def test_one_backbone_learns_every_task_and_the_weighted_mean_picks_the_epoch(fitted):
    history = fitted.history_
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    for row in history:
        scores = {n: row[f"validation_{n}"] for n in ("sentiment", "spam", "ner")}
        mean = (2 * scores["sentiment"] + scores["spam"] + scores["ner"]) / 4
        assert row["validation_score"] == pytest.approx(mean, abs=1e-5)
    best = max(history, key=lambda r: r["validation_score"])
    # the kept weights are the best epoch's: each task's validation report matches that epoch's score
    spam = json.loads((fitted.run_dir_ / "tasks" / "spam" / "metrics-validation.json").read_text())
    assert spam["pr_auc"] == pytest.approx(best["validation_spam"], abs=1e-5)
    ner = json.loads((fitted.run_dir_ / "tasks" / "ner" / "metrics-validation.json").read_text())
    assert ner["f1"] == pytest.approx(best["validation_ner"], abs=1e-5)
    views = {n: fitted.estimator(n).model_ for n in ("sentiment", "spam", "ner")}
    assert views["spam"].backbone is views["ner"].backbone is fitted.model_.backbone
    assert views["ner"].head.out_features == 7 and views["spam"].head.out_features == 2
    assert fitted.estimator("spam").threshold_ is not None and fitted.estimator("sentiment").threshold_ is None


def test_save_load_and_exported_tasks_predict_exactly_as_inside(fitted, tmp_path):
    fitted.save(tmp_path / "saved")
    heads = load_file(tmp_path / "saved" / "head.safetensors")
    assert set(heads) == {f"{n}.{p}" for n in ("sentiment", "spam", "ner") for p in ("weight", "bias")}
    again = load(tmp_path / "saved")
    assert isinstance(again, MultiTaskModel)
    for name in ("sentiment", "spam"):
        assert np.array_equal(again.predict_proba(name, TEXTS), fitted.predict_proba(name, TEXTS))
        assert again.predict(name, TEXTS) == fitted.predict(name, TEXTS)
    assert again.estimator("spam").threshold_ == fitted.estimator("spam").threshold_
    assert again.predict("ner", SENTENCES) == fitted.predict("ner", SENTENCES)
    # the sentiment and spam heads really differ: a swapped head would give the other's columns
    assert not np.allclose(fitted.predict_proba("sentiment", TEXTS), fitted.predict_proba("spam", TEXTS))

    fitted.export_task("spam", tmp_path / "spam")
    fitted.export_task("ner", tmp_path / "ner")
    spam, ner = load(tmp_path / "spam"), load(tmp_path / "ner")
    assert isinstance(spam, TextClassifier) and isinstance(ner, EntityTagger)
    assert np.array_equal(spam.predict_proba(TEXTS), fitted.predict_proba("spam", TEXTS))
    assert spam.threshold_ == fitted.estimator("spam").threshold_ and spam.task == "spam"
    assert ner.predict(SENTENCES) == fitted.predict("ner", SENTENCES)
    assert (tmp_path / "spam" / "metrics-validation.json").exists()  # its own validation report travels with it


def test_cli_predicts_a_head_and_exports_a_task(fitted, tmp_path, capsys):
    fitted.save(tmp_path / "saved")
    main(["predict", str(tmp_path / "saved"), "--head", "spam", "--text", TEXTS[0]])
    line = json.loads(capsys.readouterr().out)
    assert line["label"] == fitted.predict("spam", TEXTS[:1])[0]
    with pytest.raises(SystemExit) as stop:
        main(["predict", str(tmp_path / "saved"), "--text", TEXTS[0]])
    assert stop.value.code == 2 and "--head" in capsys.readouterr().err
    main(["export-task", str(tmp_path / "saved"), "--head", "ner", "--output-dir", str(tmp_path / "ner")])
    capsys.readouterr()
    main(["predict", str(tmp_path / "ner"), "--text", "Anna visited Paris"])
    assert json.loads(capsys.readouterr().out)["entities"] == fitted.predict("ner", "Anna visited Paris")


def test_lora_shares_one_adapter_and_round_trips(tiny_models, assets, tmp_path):
    tasks = {k: v for k, v in _tasks(assets).items() if k != "sentiment"}
    mt = MultiTaskModel(tiny_models["gpt2"], "lora", tasks, sampling="proportional", output_dir=str(tmp_path / "run"),
                        training=TrainConfig(epochs=1, batch_size=8, progress=False)).fit()
    trainable = {n for n, p in mt.model_.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)
    assert {n.split(".")[1] for n in trainable if n.startswith("head.")} == {"spam", "ner"}
    mt.save(tmp_path / "saved")
    assert (tmp_path / "saved" / "adapter" / "adapter_model.safetensors").exists()
    again = load(tmp_path / "saved")
    assert np.array_equal(again.predict_proba("spam", TEXTS), mt.predict_proba("spam", TEXTS))
    assert again.predict("ner", SENTENCES) == mt.predict("ner", SENTENCES)


def test_train_with_a_tasks_block_runs_multi_task_and_scores_each_test_split(tiny_models, assets, tmp_path):
    config = tmp_path / "multi.yaml"
    config.write_text(f"""model: {tiny_models['bert']}
epochs: 1
batch_size: 8
progress: false
output_dir: {tmp_path / 'out'}
tasks:
  sentiment: {{task: sentiment, train: {assets / 'sentiment_train.csv'}, test: {assets / 'sentiment_validation.csv'}}}
  ner: {{task: ner, train: {assets / 'ner_train.txt'}, test: {assets / 'ner_validation.txt'}}}
""")
    main(["train", "--config", str(config)])
    assert json.loads((tmp_path / "out" / "nlptransfer.json").read_text())["kind"] == "multi-task"
    sentiment = json.loads((tmp_path / "out" / "tasks" / "sentiment" / "metrics-test.json").read_text())
    ner = json.loads((tmp_path / "out" / "tasks" / "ner" / "metrics-test.json").read_text())
    assert sentiment["n"] == 24 and "macro_f1" in sentiment and ner["n"] == 10 and "f1" in ner
    assert "sentiment" in (tmp_path / "out" / "README.md").read_text()


@pytest.mark.parametrize("change,message", [
    (dict(strategy="frozen"), "cannot share a backbone"),
    (dict(tasks="one"), "at least two tasks"),
    (dict(training=TrainConfig(augment="eda")), "augment=eda is not available for multi-task"),
    (dict(sampling="square"), "sampling must be one of"),
    (dict(weights={"other": 1}), "weights name task 'other'"),
])
def test_bad_configurations_are_named_before_any_model_loads(change, message, assets):
    tasks = _tasks(assets)
    args = dict(model=NO_MODEL, strategy="full", tasks=tasks)
    args.update(change)
    if args["tasks"] == "one":
        args["tasks"] = {"spam": tasks["spam"]}
    with pytest.raises(ConfigError, match=message):
        MultiTaskModel(**args).fit()


def test_bad_data_and_task_blocks_name_the_task_and_file(assets, tmp_path, capsys):
    broken = tmp_path / "broken.csv"
    broken.write_text("text,label\nfine,pos\n,neg\n")
    tasks = {**_tasks(assets), "sentiment": ("sentiment", broken, None)}
    with pytest.raises(DataError, match="broken.csv"):  # the data error, not the model's: checked first
        MultiTaskModel(NO_MODEL, "full", tasks).fit()
    config = tmp_path / "multi.yaml"
    config.write_text(f"tasks:\n  a: {{task: spam, train: {assets / 'spam_train.csv'}, epochs: 3}}\n"
                      f"  b: {{task: ner, train: {assets / 'ner_train.txt'}}}\n")
    with pytest.raises(SystemExit) as stop:
        main(["train-multi", "--config", str(config)])
    assert stop.value.code == 2
    assert "tasks.a: epochs cannot differ between tasks" in capsys.readouterr().err
    config.write_text(f"tasks:\n  a: {{task: spam, train: {assets / 'spam_train.csv'}}}\n"
                      f"  b: {{task: ner, train: {assets / 'ner_train.txt'}, augment: mention}}\n")
    with pytest.raises(SystemExit):
        main(["train-multi", "--config", str(config)])
    assert "augment cannot differ between tasks" in capsys.readouterr().err
    assert not Path("runs").joinpath("multi-task").exists()


def test_epochs_from_the_data_give_each_task_its_steps_alone(tiny_models, assets, tmp_path, capsys, monkeypatch):
    # At least 50 steps instead of 500, to keep the run short. Batch 8, uniform sampling: 6 sentiment
    # and 3 spam batches per pass. Alone, sentiment takes 9 epochs (54 steps), spam 17 (51); drawn
    # half the time each, the run needs 108 steps: 12 epochs of 9. Counting 50 steps in all would
    # stop at 6 epochs: 27 sentiment steps.
    monkeypatch.setattr("nlptransfer.training.epochs.MIN_STEPS", 50)
    tasks = {k: v for k, v in _tasks(assets).items() if k != "ner"}
    mt = MultiTaskModel(tiny_models["bert"], "full", tasks, sampling="uniform", output_dir=str(tmp_path / "run"),
                        training=TrainConfig(batch_size=8, early_stopping_patience=None, progress=False)).fit()
    assert "multi-task: 12 epochs, chosen from the data" in capsys.readouterr().out
    assert len(mt.history_) == 12


def test_epochs_from_the_data_give_an_ner_task_its_step_minimum(tiny_models, assets, tmp_path, capsys, monkeypatch):
    # Scaled down: 20 steps for a classifier, 40 for NER. Batch 8, uniform: 6 sentiment and 4 NER
    # batches a pass. Alone, NER takes 10 epochs (40 steps); drawn half the time, 80 of the 10-step
    # epochs: 8. With the classifier's 20 for both, sentiment's 4 x 6 = 24 would set 5 epochs.
    from dataclasses import replace

    from nlptransfer.task_types import TASK_TYPES
    monkeypatch.setattr("nlptransfer.training.epochs.MIN_STEPS", 20)
    monkeypatch.setitem(TASK_TYPES, "ner", replace(TASK_TYPES["ner"], min_steps=40))
    tasks = {k: v for k, v in _tasks(assets).items() if k != "spam"}
    mt = MultiTaskModel(tiny_models["bert"], "full", tasks, sampling="uniform", output_dir=str(tmp_path / "run"),
                        training=TrainConfig(batch_size=8, early_stopping_patience=None, progress=False)).fit()
    out = capsys.readouterr().out
    assert "multi-task: 8 epochs, chosen from the data" in out
    assert "sentiment at least 20 steps" in out and "ner at least 40 steps" in out
    assert len(mt.history_) == 8


def test_epochs_from_the_data_bring_a_patience_of_each_tasks_steps(tiny_models, assets, tmp_path, capsys,
                                                                   monkeypatch):
    # Same run as above with early stopping on: 9 steps an epoch, 4.5 of each task drawn uniformly;
    # a stale stretch of 20 steps of each task takes 5 epochs (the 9 in total would give 3)
    monkeypatch.setattr("nlptransfer.training.epochs.MIN_STEPS", 50)
    monkeypatch.setattr("nlptransfer.training.epochs.MIN_STALE_STEPS", 20)
    tasks = {k: v for k, v in _tasks(assets).items() if k != "ner"}
    MultiTaskModel(tiny_models["bert"], "full", tasks, sampling="uniform", output_dir=str(tmp_path / "run"),
                   training=TrainConfig(batch_size=8, early_stopping_patience=3, progress=False)).fit()
    assert "early stopping after 5 epochs without a better validation score" in capsys.readouterr().out

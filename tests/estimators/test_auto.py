"""strategy="auto" and the classic strategy: rank, train the best few and the classic model, keep
the best on validation; a classic winner is an ordinary fitted model (predict, save, load)."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from nlptransfer import EntityTagger, TextClassifier, TrainConfig, load
from nlptransfer.errors import ConfigError

CFG = dict(epochs=1, batch_size=8, max_length=32, progress=False)


def _scores_on_disk(out, task_metric):
    """Each candidate's validation score as its own run folder recorded it."""
    return {p.name: json.loads((p / "metrics-validation.json").read_text())[task_metric]
            for p in (out / "candidates").iterdir()}


def test_auto_trains_the_ranked_candidates_and_the_classic_model_and_keeps_the_best(tiny_models, assets, tmp_path):
    models = f"{tiny_models['bert']},{tiny_models['gpt2']}"
    clf = TextClassifier(models, "sentiment", "auto", output_dir=str(tmp_path / "auto"),
                         training=TrainConfig(**CFG, auto_candidates=2))
    clf.fit(assets / "sentiment_train.csv", assets / "sentiment_validation.csv")
    rows = clf.auto_.rows
    assert len(rows) == 3 and rows[-1]["strategy"] == "classic"
    assert {r["model"] for r in rows[:2]} <= set(models.split(","))
    on_disk = _scores_on_disk(tmp_path / "auto", "macro_f1")
    assert sorted(on_disk.values()) == sorted(r["validation"] for r in rows)
    kept = max(rows, key=lambda r: r["validation"])
    assert (clf.auto_.model, clf.auto_.strategy) == (kept["model"], kept["strategy"])
    assert clf.run_config_.strategy == kept["strategy"]
    # the model kept is the one whose own run folder recorded the best score (so never below classic)
    kept_score = json.loads((clf.run_dir_ / "metrics-validation.json").read_text())["macro_f1"]
    assert kept_score == max(on_disk.values()) >= on_disk[rows[-1]["folder"]]
    assert (tmp_path / "auto" / "auto.md").exists() and (tmp_path / "auto" / "recommend.md").exists()
    texts = ["a wonderful film", "dull and far too long"]
    same = load(clf.save(tmp_path / "model"))
    assert type(same) is TextClassifier and same.run_config_.strategy == kept["strategy"]
    np.testing.assert_allclose(same.predict_proba(texts), clf.predict_proba(texts), atol=1e-6)


def test_no_candidate_within_the_budget_leaves_the_classic_model(tiny_models, assets, tmp_path):
    clf = TextClassifier(tiny_models["bert"], "spam", "auto", output_dir=str(tmp_path / "auto"),
                         training=TrainConfig(**CFG, budget="0.001s"))
    clf.fit(assets / "spam_train.csv", assets / "spam_validation.csv")
    assert [r["strategy"] for r in clf.auto_.rows] == ["classic"] and clf.auto_.skipped
    assert all("budget" in s["why"] for s in clf.auto_.skipped)
    assert clf.run_config_.strategy == "classic" and clf.model_type_ == "classic"
    assert "classic model scored best" in (tmp_path / "auto" / "auto.md").read_text()


def test_classic_classifier_round_trips_and_predicts_like_the_baseline(assets, tmp_path):
    from nlptransfer.models.classic import TfidfClassifier

    clf = TextClassifier(task="spam", strategy="classic", output_dir=str(tmp_path / "run"),
                         training=TrainConfig(progress=False))
    clf.fit(assets / "spam_train.csv", assets / "spam_validation.csv")
    train, val = pd.read_csv(assets / "spam_train.csv"), pd.read_csv(assets / "spam_validation.csv")
    assert (train.label == "spam").mean() < 0.25  # so spam's class weights are on, as in the baseline below
    baseline = TfidfClassifier(balanced=True, seed=42).fit(train.text.tolist(), train.label.tolist(),
                                                             val.text.tolist(), val.label.tolist())
    texts = val.text.tolist() + ["WIN cash now", ""]
    np.testing.assert_allclose(clf.predict_proba(texts), baseline.predict_proba(texts, clf.classes_), atol=1e-9)
    folder = clf.save(tmp_path / "model")
    assert (folder / "classic.json").exists() and not (folder / "backbone").exists()
    assert "no transformer" in (folder / "README.md").read_text()
    same = load(folder)
    assert same.predict(texts) == clf.predict(texts) and same.threshold_ == clf.threshold_
    assert same.evaluate(assets / "spam_validation.csv")["positive_f1"] == clf.evaluate(
        assets / "spam_validation.csv")["positive_f1"]
    with pytest.raises(ConfigError, match="no network to export"):
        same.export(tmp_path / "onnx")
    out = subprocess.run([sys.executable, "-m", "nlptransfer", "predict", str(folder), "--text", "WIN cash now"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and clf.predict(["WIN cash now"])[0] in out.stdout


def test_classic_tagger_round_trips_with_spans(assets, tmp_path):
    tagger = EntityTagger(strategy="classic", output_dir=str(tmp_path / "run"), training=TrainConfig(progress=False))
    tagger.fit(assets / "ner_train.txt", assets / "ner_validation.txt")
    text = "Anna Berg visited Paris in July."
    entities = tagger.predict(text)
    assert entities and all(text[e["start"]:e["end"]] == e["text"] for e in entities)
    same = load(tagger.save(tmp_path / "model"))
    assert type(same) is EntityTagger and same.predict(text) == entities
    assert same.evaluate(assets / "ner_validation.txt")["f1"] == tagger.evaluate(assets / "ner_validation.txt")["f1"]


def test_auto_needs_validation_and_refuses_before_any_model_loads(tmp_path, assets):
    clf = TextClassifier("no/such-model", "sentiment", "auto", output_dir=str(tmp_path / "auto"))
    with pytest.raises(ConfigError, match="validation"):
        clf.fit(assets / "sentiment_train.csv")
    with pytest.raises(ConfigError, match="budget"):
        TrainConfig(budget="soon")
    out = subprocess.run([sys.executable, "-m", "nlptransfer", "train", "--task", "sentiment", "--strategy", "auto",
                          "--train", str(assets / "sentiment_train.csv"), "--output-dir", str(tmp_path / "cli")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "validation" in out.stderr and "Traceback" not in out.stderr


def test_a_damaged_classic_folder_is_named_not_a_traceback(assets, tmp_path):
    from nlptransfer.errors import ModelLoadError

    clf = TextClassifier(task="spam", strategy="classic", output_dir=str(tmp_path / "run"),
                         training=TrainConfig(progress=False)).fit(assets / "spam_train.csv")
    folder = clf.save(tmp_path / "model")
    (folder / "classic.json").write_text("{broken")
    with pytest.raises(ModelLoadError, match="classic model's files are damaged"):
        load(folder)

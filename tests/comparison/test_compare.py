"""``nlptransfer compare`` and ``report`` end to end on tiny models: the grid, baselines, reuse,
resume after an interrupted run, and the report files."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "nlptransfer", *map(str, args)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_spam_compare_grid_reuse_resume_and_report(tiny_models, assets, tmp_path):
    out = tmp_path / "cmp"
    args = ["compare", "--task", "spam", "--train", assets / "spam_train.csv", "--validation",
            assets / "spam_validation.csv", "--test", assets / "spam_validation.csv", "--models", tiny_models["bert"],
            "--strategies", "full,scratch", "--seeds", "2", "--train-fractions", "0.5,1", "--output-dir", out,
            "epochs=1", "batch_size=4", "max_length=8"]
    r = _cli(*args)
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-3000:]
    assert r.stdout.count(": done") == 12  # 2 fractions x 2 seeds x (2 strategies + classic)
    assert "--full--f1--s1: epoch 1/1: train_loss=" in r.stdout  # progress while a run trains
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted({(r["strategy"], r["fraction"]) for r in rows}) == [
        (s, f) for s in ("classic", "full", "scratch") for f in ("0.5", "1.0")]
    for row in rows:
        assert 0 <= float(row["positive_f1"]) <= 1 and float(row["ci95_low"]) <= float(row["positive_f1"])
        assert float(row["train_seconds"]) > 0 and float(row["peak_rss_mb"]) > 50 and int(row["trainable_params"]) > 0
    summary = json.loads((out / "results.json").read_text())
    assert {(g["strategy"], g["fraction"]) for g in summary["gains"]} == {("full", 0.5), ("full", 1.0)}
    for gain in summary["gains"]:
        assert gain["reference"] in ("scratch", "classic")
        below = "negative transfer" if gain["reference"] == "scratch" else "below the classic baseline"
        assert gain["verdict"] in ("helped", "no clear gain", below)
        assert gain["ci_low"] <= gain["gain"] <= gain["ci_high"]
    # paired comparisons: every strategy of a seed and fraction trains on the very same subset,
    # and another seed draws another subset
    jobs = [json.loads(p.read_text()) for p in out.glob("runs/*/job.json")]
    for fraction in (0.5, 1.0):
        for seed in (0, 1):
            same = {(j["train"], j["data"][0]) for j in jobs if j["fraction"] == fraction and j["seed"] == seed}
            assert len(same) == 1, (fraction, seed, same)
    halves = [next(j["data"][0] for j in jobs if j["fraction"] == 0.5 and j["seed"] == s) for s in (0, 1)]
    assert halves[0] != halves[1]
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 5  # cost, learning curve, confusion, reliability, PR
    report = (out / "report.md").read_text()
    assert "Did transfer help?" in report and "conditions on the seeds" in report
    # 2 of the 10 test messages are longer than 8 tokens: the report says the transformer read less
    assert "2 of 10 test texts are longer than max_length=8 tokens" in report and "reads every word" in report

    # Repeating the command retrains nothing.
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/result.json")}
    r = _cli(*args)
    assert r.returncode == 0 and r.stdout.count(": reused") == 12 and ": done" not in r.stdout
    assert stamps == {p: p.stat().st_mtime_ns for p in out.glob("runs/*/result.json")}

    # A run killed part-way leaves no result.json: the next compare redoes that run only.
    victim = next(out.glob("runs/*--full--f1--s1"))
    (victim / "result.json").unlink()
    r = _cli(*args)
    assert r.stdout.count(": reused") == 11 and r.stdout.count(": done") == 1

    # A different training config is a different experiment: nothing is reused.
    assert _cli(*args[:-3], "epochs=2", "batch_size=4", "max_length=8", "--seeds", "1",
                "--train-fractions", "1").stdout.count(": reused") == 1  # the classic run does not depend on it

    # The report is rebuilt from saved results alone.
    for name in ("report.html", "report.md", "results.csv"):
        (out / name).unlink()
    r = _cli("report", out)
    assert r.returncode == 0 and (out / "report.html").exists() and (out / "results.csv").exists()


@pytest.mark.slow
def test_ner_compare_with_feature_tagger(tiny_models, assets, tmp_path):
    from nlptransfer import compare
    from nlptransfer.config import TrainConfig

    out = tmp_path / "ner"
    summary = compare("ner", assets / "ner_train.txt", assets / "ner_validation.txt", assets / "ner_validation.txt",
                      models=[tiny_models["roberta"]], strategies=["lora", "auto"], seeds=1, output_dir=str(out),
                      training=TrainConfig(epochs=1, batch_size=4, max_length=32, auto_candidates=1))
    assert {g["strategy"] for g in summary["groups"]} == {"lora", "classic", "auto"}
    assert summary["metric"] == "f1" and {g["reference"] for g in summary["gains"]} == {"classic"}
    # the auto row kept the best of what it trained on validation, and says which
    auto_row = next(r for r in summary["rows"] if r["strategy"] == "auto")
    choice = json.loads((out / "runs" / "auto--auto--f1--s0" / "run" / "auto.json").read_text())
    best = max(choice["rows"], key=lambda r: r["validation"])
    assert auto_row["kept"] == f"{best['model']} {best['strategy']}" == f"{choice['model']} {choice['strategy']}"
    assert len(choice["rows"]) == 2 and "kept" in (out / "results.csv").read_text().splitlines()[0]
    assert (out / "plots" / "per_type_f1.png").exists()
    assert "one seed" in (out / "report.md").read_text()  # not a spread of 0 from a single run


def test_compare_rejects_bad_requests(assets, tmp_path):
    r = _cli("compare", "--task", "spam", "--train", assets / "spam_train.csv", "--validation",
             assets / "spam_validation.csv", "--test", assets / "spam_validation.csv", "--strategies", "full,magic",
             "--output-dir", tmp_path / "x")
    assert r.returncode == 2 and "strategy 'magic'" in r.stderr
    r = _cli("compare", "--task", "spam", "--train", assets / "spam_train.csv", "--validation",
             assets / "spam_validation.csv", "--test", assets / "spam_validation.csv", "--train-fractions", "0,1",
             "--output-dir", tmp_path / "x")
    assert r.returncode == 2 and "fractions must be in (0, 1]" in r.stderr
    r = _cli("compare", "--task", "spam", "--train", tmp_path / "missing.csv", "--validation",
             assets / "spam_validation.csv", "--test", assets / "spam_validation.csv", "--output-dir", tmp_path / "x")
    assert r.returncode == 2 and "missing.csv" in r.stderr


@pytest.mark.slow
def test_scratch_temperature_and_run_report(tiny_models, assets, tmp_path):
    import torch
    from safetensors.torch import load_file

    from nlptransfer import TextClassifier, TrainConfig, load

    cfg = TrainConfig(epochs=2, batch_size=4, max_length=32, progress=False, temperature_scaling=True)
    clf = TextClassifier(tiny_models["bert"], "spam", "scratch", training=cfg, output_dir=str(tmp_path / "run"))
    clf.fit(assets / "spam_train.csv", assets / "spam_validation.csv")
    pretrained = load_file(str(Path(tiny_models["bert"]) / "model.safetensors"))
    mine = clf.model_.backbone.state_dict()
    name = "embeddings.word_embeddings.weight"
    assert not torch.allclose(mine[name], pretrained[name], atol=1e-2)  # not the pretrained weights
    # T minimises the validation negative log-likelihood: better than its neighbours, inside the search range
    import numpy as np
    import pandas as pd

    val = pd.read_csv(assets / "spam_validation.csv")
    t = clf.temperature_
    raw = np.log(np.clip(clf.predict_proba(val["text"].tolist()), 1e-12, 1)) * t  # undo the fitted T
    truth = np.array([clf.classes_.index(y) for y in val["label"]])

    def nll(temperature):
        z = raw / temperature
        z = z - z.max(1, keepdims=True)
        return -(z[np.arange(len(z)), truth] - np.log(np.exp(z).sum(1))).mean()

    assert 0.06 < t < 19 and nll(t) <= min(nll(t * 1.2), nll(t / 1.2)) + 1e-9
    m = clf.evaluate(assets / "spam_validation.csv")
    assert m["temperature"] == clf.temperature_ and "ece" in m
    clf.save(tmp_path / "run")
    again = load(tmp_path / "run")
    assert again.temperature_ == clf.temperature_
    texts = ["WIN a prize now", "see you at 7"]
    assert again.predict_proba(texts) == pytest.approx(clf.predict_proba(texts), abs=1e-6)
    r = _cli("report", tmp_path / "run")
    assert r.returncode == 0, r.stderr[-2000:]
    html = (tmp_path / "run" / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3  # confusion, reliability, PR curve of each split


@pytest.mark.slow
def test_multi_task_row_beside_single_task_rows(tiny_models, assets, tmp_path):
    from nlptransfer import compare
    from nlptransfer.config import TrainConfig

    out = tmp_path / "multi"
    summary = compare("spam", assets / "spam_train.csv", assets / "spam_validation.csv", assets / "spam_validation.csv",
                      models=[tiny_models["bert"]], strategies=["full", "frozen"], seeds=1, output_dir=str(out),
                      classic=False, training=TrainConfig(epochs=1, batch_size=4, max_length=16),
                      with_task=("sentiment", assets / "sentiment_train.csv", assets / "sentiment_validation.csv"))
    # frozen shares no trained backbone: no frozen+multi row
    assert {g["strategy"] for g in summary["groups"]} == {"full", "frozen", "full+multi"}
    # the multi row is measured against the same strategy alone, on the same subset and seed
    assert ("full+multi", "full") in {(g["strategy"], g["reference"]) for g in summary["versus_plain"]}
    jobs = {p.parent.name.split("--")[1]: json.loads(p.read_text()) for p in out.glob("runs/*/job.json")}
    assert jobs["full+multi"]["train"] == jobs["full"]["train"] and jobs["full+multi"]["with"]["task"] == "sentiment"
    # it really trained both tasks: each has its validation report in the run folder
    run = next(out.glob("runs/*--full+multi--*")) / "run"
    assert (run / "tasks" / "spam" / "metrics-validation.json").exists()
    assert (run / "tasks" / "with-sentiment" / "metrics-validation.json").exists()
    result = json.loads((run.parent / "result.json").read_text())
    assert "multi-task with sentiment" in result["detail"]


def test_compare_with_task_needs_its_data(assets, tmp_path):
    r = _cli("compare", "--task", "spam", "--train", assets / "spam_train.csv", "--validation",
             assets / "spam_validation.csv", "--test", assets / "spam_validation.csv", "--with-task", "sentiment",
             "--with-train", assets / "sentiment_train.csv", "--output-dir", tmp_path / "x")
    assert r.returncode == 2 and "--with-task needs --with-validation too" in r.stderr
    r = _cli("compare", "--task", "spam", "--train", assets / "spam_train.csv", "--validation",
             assets / "spam_validation.csv", "--test", assets / "spam_validation.csv", "--with-task", "sentiment",
             "--with-train", tmp_path / "gone.csv", "--with-validation", assets / "sentiment_validation.csv",
             "--output-dir", tmp_path / "x")
    assert r.returncode == 2 and "gone.csv" in r.stderr

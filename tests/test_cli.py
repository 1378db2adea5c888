"""The command line and the task scripts, run as users run them (subprocesses)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
QUICK = ["epochs=2", "progress=false", "batch_size=8", "max_length=32"]


def _run(args, **kwargs):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, **kwargs)


def test_train_evaluate_predict(tiny_models, assets, tmp_path):
    out = tmp_path / "spam"
    r = _run([BIN / "nlptransfer", "train", "--task", "spam", "--model", tiny_models["bert"], "--strategy", "lora",
              "--train", assets / "spam_train.csv", "--validation", assets / "spam_validation.csv",
              "--test", assets / "spam_validation.csv", "--output-dir", out, *QUICK])
    assert r.returncode == 0, r.stderr
    assert "processes: 1 (NO): one process on CPU; batch 8" in r.stdout  # says what ran, in words
    assert "epoch 2/2: train_loss=" in r.stdout and "validation_pr_auc=" in r.stdout  # names its metric
    meta = json.loads((out / "nlptransfer.json").read_text())
    assert meta["strategy"] == "lora" and meta["positive_label"] == "spam" and meta["classes"] == ["ham", "spam"]
    for name in ("config.yaml", "metrics-test.json", "metrics-test.md", "metrics-validation.json", "history.json",
                 "head.safetensors", "adapter/adapter_config.json", "backbone/config.json"):
        assert (out / name).exists(), name
    assert "pr_auc" in json.loads((out / "metrics-test.json").read_text())

    r = _run([BIN / "nlptransfer", "evaluate", out, "--data", assets / "spam_train.csv", "--name", "train"])
    assert r.returncode == 0, r.stderr
    assert "| positive_f1 |" in r.stdout and (out / "metrics-train.json").exists()

    r = _run([BIN / "nlptransfer", "predict", out, "--text", "WIN a FREE prize now", "--text", "see you soon"])
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["text"] for row in rows] == ["WIN a FREE prize now", "see you soon"]
    assert all(row["label"] in ("ham", "spam") and set(row["scores"]) == {"ham", "spam"} for row in rows)


def test_bad_input_exits_2_with_the_reason(tmp_path):
    r = _run([BIN / "nlptransfer", "train", "--task", "spam", "--train", tmp_path / "missing.csv"])
    assert r.returncode == 2 and "missing.csv' does not exist" in r.stderr
    r = _run([BIN / "nlptransfer", "train", "--train", "x.csv", "epoch=1"])
    assert r.returncode == 2 and "Did you mean 'epochs'" in r.stderr


def test_task_script_under_accelerate_launch(tiny_models, assets, tmp_path):
    out = tmp_path / "sentiment"
    r = _run([BIN / "accelerate", "launch", "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no",
              "--dynamo_backend", "no", "tasks/classification.py", "--config", "tasks/configs/sentiment.yaml",
              f"model={tiny_models['gpt2']}", f"train={assets / 'sentiment_train.csv'}",
              f"validation={assets / 'sentiment_validation.csv'}", f"test={assets / 'sentiment_validation.csv'}",
              f"output_dir={out}", "strategy=frozen", *QUICK])
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "nlptransfer.json").read_text())["model_type"] == "gpt2"
    assert json.loads((out / "metrics-test.json").read_text())["n"] == 24


def test_ner_train_and_predict_and_task_script(tiny_models, assets, tmp_path):
    out = tmp_path / "ner"
    r = _run([BIN / "nlptransfer", "train", "--task", "ner", "--model", tiny_models["roberta"], "--strategy", "full",
              "--train", assets / "ner_train.txt", "--validation", assets / "ner_validation.txt",
              "--test", assets / "ner_iob1.txt", "--output-dir", out, *QUICK])
    assert r.returncode == 0, r.stderr
    test = json.loads((out / "metrics-test.json").read_text())
    assert test["source_scheme"] == "IOB1" and "per_class" in test
    r = _run([BIN / "nlptransfer", "predict", out, "--text", "Anna Berg visited Paris."])
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["text"] == "Anna Berg visited Paris." and isinstance(row["entities"], list)

    r = _run([BIN / "accelerate", "launch", "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no",
              "--dynamo_backend", "no", "tasks/tagging.py", "--config", "tasks/configs/ner.yaml",
              f"model={tiny_models['llama']}", f"train={assets / 'ner_train.jsonl'}",
              f"validation={assets / 'ner_validation.txt'}", "test=none", f"output_dir={tmp_path / 'ner2'}",
              "strategy=lora", *QUICK])
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "ner2" / "adapter" / "adapter_config.json").exists()


def test_options_and_help_explain_themselves():
    r = _run([BIN / "nlptransfer", "options"])
    from nlptransfer.config import RunConfig, TrainConfig
    import dataclasses

    names = [f.name for f in dataclasses.fields(TrainConfig)] + [f.name for f in dataclasses.fields(RunConfig)
                                                                 if f.name != "training"]
    lines = {line.split()[0]: line for line in r.stdout.splitlines()}
    assert r.returncode == 0 and set(names) <= set(lines)
    assert "at least 1" in lines["epochs"] and "truncate | head_tail | chunks" in lines["long_texts"]
    r = _run([BIN / "nlptransfer", "train", "--help"])
    assert "{full,frozen,lora,partial,gradual,scratch,contrastive,classic,auto}" in r.stdout and "{sentiment,spam,ner}" in r.stdout
    assert "nlptransfer options" in r.stdout


def test_warnings_print_as_plain_lines(tiny_models, assets, tmp_path):
    """A test split that repeats training texts gets a one-line warning, not Python's warning
    format with a line of our source."""
    r = _run([BIN / "nlptransfer", "train", "--task", "spam", "--model", tiny_models["bert"], "--strategy", "frozen",
              "--train", assets / "spam_train.csv", "--test", assets / "spam_train.csv", "--output-dir",
              tmp_path / "out", *QUICK])
    assert r.returncode == 0, r.stderr
    assert "warning: 23 distinct text(s) of test file" in r.stderr and "also appear in the train data" in r.stderr
    assert "UserWarning" not in r.stderr and "warnings.warn" not in r.stderr


def test_the_model_is_saved_before_the_test_split_is_scored(tiny_models, assets, tmp_path, monkeypatch):
    from nlptransfer import TextClassifier, load_run_config
    from nlptransfer.recipe import run

    def broken(self, data, name="test"):
        raise RuntimeError("scoring failed")

    monkeypatch.setattr(TextClassifier, "evaluate", broken)
    config = load_run_config(None, [*QUICK, "task=spam", f"model={tiny_models['bert']}", "strategy=frozen",
                                    f"train={assets / 'spam_train.csv'}", f"test={assets / 'spam_validation.csv'}",
                                    f"output_dir={tmp_path / 'out'}"])
    with pytest.raises(RuntimeError, match="scoring failed"):
        run(config)
    assert (tmp_path / "out" / "nlptransfer.json").exists() and (tmp_path / "out" / "head.safetensors").exists()

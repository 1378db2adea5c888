"""The command line and the task scripts, run as users run them (subprocesses)."""
import json
import os
import subprocess
import sys
from pathlib import Path

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

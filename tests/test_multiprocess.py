"""Several processes for real: `accelerate launch` with 2 gloo processes on CPU, and gradient
accumulation against one larger batch."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nlptransfer import TrainConfig, load

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _launch_two(script, config, overrides, tmp_path):
    # On a machine without a GPU, `--cpu --num_processes 2` silently starts ONE process
    # (accelerate 1.15); `--multi_gpu` starts two with the gloo backend.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    cmd = [BIN / "accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29533", script,
           "--config", config, *overrides]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("task,strategy,family", [("spam", "full", "bert"), ("spam", "lora", "gpt2"),
                                                  ("ner", "lora", "roberta")])
def test_two_processes_match_one(task, strategy, family, tiny_models, assets, tmp_path):
    out = tmp_path / "out"
    if task == "ner":
        data = [f"train={assets / 'ner_train.txt'}", f"validation={assets / 'ner_validation.txt'}",
                f"test={assets / 'ner_validation.txt'}"]
        script, config = "tasks/ner.py", "tasks/configs/ner.yaml"
    else:
        data = [f"train={assets / 'spam_train.csv'}", f"validation={assets / 'spam_validation.csv'}",
                f"test={assets / 'spam_validation.csv'}"]
        script, config = "tasks/spam.py", "tasks/configs/spam.yaml"
    r = _launch_two(script, config, [f"model={tiny_models[family]}", f"strategy={strategy}", f"output_dir={out}",
                                     "epochs=2", "batch_size=4", "progress=false", "max_length=32", *data], tmp_path)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "processes: 2 (MULTI_CPU)" in r.stdout, r.stdout  # the world size we asked for, not a silent 1
    two = json.loads((out / "metrics-test.json").read_text())
    one = load(out).evaluate(data[2].split("=", 1)[1], name="single")  # same weights, this one process
    keys = ("f1", "precision", "recall", "token_accuracy") if task == "ner" else \
        ("accuracy", "macro_f1", "positive_f1", "pr_auc")
    assert {k: two[k] for k in keys} == pytest.approx({k: one[k] for k in keys}, abs=1e-9)
    assert two["n"] == one["n"]
    if strategy == "lora":  # saved once, by the main process, adapter and head
        assert (out / "adapter" / "adapter_model.safetensors").exists() and (out / "head.safetensors").exists()


def test_accumulation_equals_larger_batch(tiny_models, assets):
    """k micro-batches with accumulation make the same update as one batch k times larger."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState

    from nlptransfer.batching import encode_texts, text_collator
    from nlptransfer.estimator import build
    from nlptransfer.training import train_model

    texts = ["the film was great", "the hotel was awful", "a real joy", "waste of money",
             "superb service", "terrible dinner", "wonderful book", "broken laptop"]
    weights = []
    for batch_size, accumulate in ((8, 1), (4, 2), (2, 4)):
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
        cfg = TrainConfig(epochs=1, batch_size=batch_size, gradient_accumulation_steps=accumulate, dropout=0.0,
                          warmup_ratio=0.0, group_by_length=False, progress=False, seed=0, learning_rate=1e-2,
                          early_stopping_patience=None)
        torch.manual_seed(0)
        built = build(tiny_models["bert"], 2, "full", cfg)
        built.net.backbone.config.hidden_dropout_prob = 0.0
        for module in built.net.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        data = encode_texts(built.tokenizer, texts, 32, [0, 1, 0, 1, 0, 1, 0, 1])
        result = train_model(built.net, data, text_collator(built.tokenizer), config=cfg, learning_rate=1e-2,
                             accelerator=Accelerator(gradient_accumulation_steps=accumulate, cpu=True),
                             loss_fn=torch.nn.CrossEntropyLoss())
        assert result.optimizer_steps == 1
        weights.append(torch.cat([p.detach().flatten() for p in built.net.parameters()]))
    torch.testing.assert_close(weights[1], weights[0], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(weights[2], weights[0], rtol=1e-4, atol=1e-6)

"""Several processes for real: `accelerate launch` with 2 gloo processes on CPU, and gradient
accumulation against one larger batch."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import flat_parameters

from nlptransfer import TrainConfig, load

ROOT = Path(__file__).resolve().parents[2]
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
        script, config = "tasks/tagging.py", "tasks/configs/ner.yaml"
    else:
        data = [f"train={assets / 'spam_train.csv'}", f"validation={assets / 'spam_validation.csv'}",
                f"test={assets / 'spam_validation.csv'}"]
        script, config = "tasks/classification.py", "tasks/configs/spam.yaml"
    r = _launch_two(script, config, [f"model={tiny_models[family]}", f"strategy={strategy}", f"output_dir={out}",
                                     "epochs=2", "batch_size=4", "progress=false", "max_length=32", *data], tmp_path)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "processes: 2 (MULTI_CPU)" in r.stdout, r.stdout  # the world size we asked for, not a silent 1
    two = json.loads((out / "metrics-test.json").read_text())
    # Same weights, this one process, with the launched processes' thread count (another count
    # changes the float summation order, 1e-8 apart; tune_threshold keeps off exact scores).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = load(out).evaluate(data[2].split("=", 1)[1], name="single")
    finally:
        torch.set_num_threads(threads)
    keys = ("f1", "precision", "recall", "token_accuracy") if task == "ner" else \
        ("accuracy", "macro_f1", "positive_f1", "pr_auc")
    assert {k: two[k] for k in keys} == pytest.approx({k: one[k] for k in keys}, abs=1e-9)
    assert two["n"] == one["n"]
    if strategy == "lora":  # saved once, by the main process, adapter and head
        assert (out / "adapter" / "adapter_model.safetensors").exists() and (out / "head.safetensors").exists()


def test_accumulation_equals_larger_batch(tiny_models, assets, plain_sgd):
    """k micro-batches with accumulation make the same update as one batch k times larger."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState

    from nlptransfer.data.batching import encode_texts, text_collator
    from nlptransfer.models.task_model import build_task_model as build
    from nlptransfer.training.loop import train_model
    from nlptransfer.training.losses import SummedCrossEntropy

    texts = ["the film was great", "the hotel was awful", "a real joy", "waste of money",
             "superb service", "terrible dinner", "wonderful book", "broken laptop"]
    updates = []
    for batch_size, accumulate in ((8, 1), (4, 2), (2, 4)):
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
        cfg = TrainConfig(epochs=1, batch_size=batch_size, gradient_accumulation_steps=accumulate, dropout=0.0,
                          warmup_ratio=0.0, group_by_length=False, progress=False, seed=0, learning_rate=1e-2,
                          early_stopping_patience=None, max_grad_norm=1e9)  # clipping would hide the scale
        torch.manual_seed(0)
        built = build(tiny_models["bert"], 2, "full", cfg)
        built.net.backbone.config.hidden_dropout_prob = 0.0
        for module in built.net.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        data = encode_texts(built.tokenizer, texts, 32, [0, 1, 0, 1, 0, 1, 0, 1])
        before = flat_parameters(built.net)
        result = train_model(built.net, data, text_collator(built.tokenizer), config=cfg, learning_rate=1e-2,
                             accelerator=Accelerator(gradient_accumulation_steps=accumulate, cpu=True),
                             loss_fn=SummedCrossEntropy())
        assert result.optimizer_steps == 1
        updates.append(flat_parameters(built.net) - before)
    assert updates[0].abs().max() > 1e-4  # the step moved the weights
    # SGD: the update is the gradient itself, so a gradient scaled by k (summed, not averaged) fails
    torch.testing.assert_close(updates[1], updates[0], rtol=1e-3, atol=1e-8)
    torch.testing.assert_close(updates[2], updates[0], rtol=1e-3, atol=1e-8)


def _no_dropout_copy(folder, target):
    """The tiny model with dropout off, so updates from different process counts compare exactly."""
    import transformers as tf

    model = tf.AutoModel.from_pretrained(folder)
    model.config.hidden_dropout_prob = model.config.attention_probs_dropout_prob = 0.0
    model.save_pretrained(target)
    tf.AutoTokenizer.from_pretrained(folder).save_pretrained(target)
    return target


@pytest.mark.slow
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_two_process_accumulation_equals_one_process_batch(task, tiny_models, assets, tmp_path):
    """2 processes x batch 2 x accumulation 2 make the updates of 1 process x batch 8, launched
    through the shipped CPU accelerate config file. NER: sentences of different lengths, so each
    process must normalise by the same weight (a mean step's labelled tokens, over all processes'
    data), not by its own share."""
    import pandas as pd
    from safetensors.torch import load_file

    model = _no_dropout_copy(tiny_models["bert"], tmp_path / "model")
    if task == "ner":  # 24 sentences: 3 full steps an epoch
        train, script, validation = tmp_path / "train.jsonl", "tasks/tagging.py", assets / "ner_validation.txt"
        train.write_text("".join((assets / "ner_train.jsonl").read_text().splitlines(keepends=True)[:24]))
    else:  # 32 texts: 4 full steps an epoch
        train, script, validation = tmp_path / "train.csv", "tasks/classification.py", assets / "sentiment_validation.csv"
        pd.read_csv(assets / "sentiment_train.csv").head(32).to_csv(train, index=False)
    common = [f"task={task}", f"model={model}", f"train={train}", f"validation={validation}", "epochs=2", "dropout=0",
              "group_by_length=false", "progress=false", "max_length=32", "learning_rate=1e-3",
              "early_stopping_patience=none"]
    one, two = tmp_path / "one", tmp_path / "two"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, script, *common, "batch_size=8", f"output_dir={one}"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([BIN / "accelerate", "launch", "--config_file", "tasks/accelerate/cpu-2proc.yaml",
                        script, *common, "batch_size=2", "gradient_accumulation_steps=2",
                        f"output_dir={two}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "processes: 2 (MULTI_CPU)" in r.stdout, r.stdout
    for part in ("head.safetensors", "backbone/model.safetensors"):
        a, b = load_file(str(one / part)), load_file(str(two / part))
        for name in a:
            torch.testing.assert_close(b[name], a[name], rtol=1e-4, atol=1e-5, msg=f"{part}: {name}")
    steps = [json.loads(line)["step"] for line in (two / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) == (6 if task == "ner" else 8)  # 2 epochs of optimizer steps, as in the one-process run


def test_shipped_accelerate_configs_parse():
    from accelerate.commands.config.config_args import load_config_from_file

    kinds = {p.stem: load_config_from_file(str(p)) for p in (ROOT / "tasks" / "accelerate").glob("*.yaml")}
    assert {k: str(v.distributed_type).split(".")[-1] for k, v in kinds.items()} == {
        "cpu-2proc": "MULTI_GPU", "single-gpu": "NO", "ddp": "MULTI_GPU", "fsdp": "FSDP",
        "deepspeed-zero2": "DEEPSPEED", "multi-node": "MULTI_GPU"}
    assert kinds["multi-node"].num_machines == 2 and kinds["multi-node"].main_process_ip


NOTEBOOK_LAUNCH = r"""
import sys
from accelerate import notebook_launcher

def train(model, data, out):
    from nlptransfer import TextClassifier, TrainConfig
    from nlptransfer.training.processes import process_state

    clf = TextClassifier(model, "sentiment", "lora", output_dir=out,
                         training=TrainConfig(epochs=1, batch_size=4, max_length=32, progress=False))
    clf.fit(data + "/sentiment_train.csv", data + "/sentiment_validation.csv")
    clf.save(out)
    state = process_state()
    print(f"rank {state.process_index} of {state.num_processes}\n", end="", flush=True)

notebook_launcher(train, tuple(sys.argv[1:]), num_processes=2)
"""


@pytest.mark.slow
def test_python_api_on_two_processes_through_notebook_launcher(tiny_models, assets, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", NOTEBOOK_LAUNCH, tiny_models["bert"], str(assets), str(tmp_path / "m")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "rank 0 of 2" in r.stdout and "rank 1 of 2" in r.stdout, r.stdout  # one group of two
    assert load(tmp_path / "m").predict(["a real joy"])[0] in ("positive", "negative")


DEFAULT_FOLDER_LAUNCH = r"""
import sys, time
from accelerate import notebook_launcher

def train(model, data):
    from nlptransfer import TextClassifier, TrainConfig
    from nlptransfer.training.processes import process_state

    rank = process_state().process_index
    time.strftime = lambda *_: f"clock-of-rank-{rank}"  # each process would name its own folder
    clf = TextClassifier(model, "sentiment", "frozen", training=TrainConfig(epochs=1, max_length=32, progress=False))
    clf.fit(data + "/sentiment_train.csv")
    print(f"rank {rank} wrote to {clf.run_dir_}\n", end="", flush=True)

notebook_launcher(train, tuple(sys.argv[1:]), num_processes=2)
"""


@pytest.mark.slow
def test_default_run_folder_is_decided_once_for_all_processes(tiny_models, assets, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", DEFAULT_FOLDER_LAUNCH, tiny_models["bert"], str(assets)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = sorted(line for line in r.stdout.splitlines() if " wrote to " in line)
    assert lines == ["rank 0 wrote to runs/sentiment-frozen-clock-of-rank-0",
                     "rank 1 wrote to runs/sentiment-frozen-clock-of-rank-0"], r.stdout
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["sentiment-frozen-clock-of-rank-0"]


@pytest.mark.slow
def test_auto_on_two_processes_trains_the_same_candidates_and_writes_once(tiny_models, assets, tmp_path):
    out = tmp_path / "auto"
    data = [f"train={assets / 'spam_train.csv'}", f"validation={assets / 'spam_validation.csv'}",
            f"test={assets / 'spam_validation.csv'}"]
    r = _launch_two("tasks/classification.py", "tasks/configs/spam.yaml",
                    [f"model={tiny_models['bert']}", "strategy=auto", "auto_candidates=1", f"output_dir={out}",
                     "epochs=1", "batch_size=4", "progress=false", "max_length=32", *data], tmp_path)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "processes: 2 (MULTI_CPU)" in r.stdout, r.stdout
    assert r.stdout.count("auto: kept ") == 1  # said once, by the main process
    choice = json.loads((out / "auto.json").read_text())
    assert [row["strategy"] for row in choice["rows"]][-1] == "classic" and len(choice["rows"]) == 2
    kept = next(row for row in choice["rows"] if (row["model"], row["strategy"]) == (choice["model"], choice["strategy"]))
    assert kept["validation"] == max(row["validation"] for row in choice["rows"])  # a tie goes to classic
    assert json.loads((out / "nlptransfer.json").read_text())["strategy"] == choice["strategy"]
    assert json.loads((out / "metrics-test.json").read_text())["split"] == "test"
    assert load(out).predict(["WIN a prize now"])[0] in ("spam", "ham")


@pytest.mark.parametrize("family", ["gpt2", "bert"])  # causal LM; masked LM with the fresh head's warm-up first
def test_adapt_runs_on_two_processes(family, tiny_models, assets, tmp_path):
    out = tmp_path / "adapted"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    cmd = [BIN / "accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29534", "-m", "nlptransfer",
           "adapt", "--model", tiny_models[family], "--texts", str(assets / "sentiment_train.csv"), "--output-dir",
           str(out), "--held-out", "0.25", "epochs=3", "batch_size=4", "max_length=32", "learning_rate=2e-3",
           "progress=false"]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "processes: 2 (MULTI_CPU)" in r.stdout, r.stdout
    record = json.loads((out / "adaptation.json").read_text())
    assert record["held_out_loss_after"] < record["held_out_loss_before"]
    # Each process steps through its half of the batches: ceil(windows / (4 x 2)) steps per epoch.
    assert record["optimizer_steps"] == 3 * -(-record["train_windows"] // 8)
    if family == "bert":  # the head-only phase ran under DDP too, then the whole model trained
        assert record["head_warmup"]["steps"] >= 50 and record["held_out_loss_after"] < record["head_warmup"][
            "held_out_loss"]


def test_multi_task_under_two_processes(tiny_models, assets, tmp_path):
    """The multi-task script under a real 2-process launch: batches of different tasks on the two
    processes in one step (DDP told that the other heads are unused), one saved model whose test
    metrics a single process reproduces."""
    out, config = tmp_path / "out", tmp_path / "multi.yaml"
    config.write_text(f"model: {tiny_models['bert']}\nepochs: 2\nbatch_size: 4\nmax_length: 32\nprogress: false\n"
                      f"tasks:\n  spam: {{task: spam, train: {assets / 'spam_train.csv'}, "
                      f"validation: {assets / 'spam_validation.csv'}, test: {assets / 'spam_validation.csv'}}}\n"
                      f"  ner: {{task: ner, train: {assets / 'ner_train.txt'}, validation: {assets / 'ner_validation.txt'}, "
                      f"test: {assets / 'ner_validation.txt'}}}\n")
    r = _launch_two("tasks/multi_task.py", str(config), [f"output_dir={out}"], tmp_path)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "processes: 2 (MULTI_CPU)" in r.stdout, r.stdout
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = load(out)
        spam = model.estimator("spam").evaluate(assets / "spam_validation.csv", name="single")
        ner = model.estimator("ner").evaluate(assets / "ner_validation.txt", name="single")
    finally:
        torch.set_num_threads(threads)
    two_spam = json.loads((out / "tasks" / "spam" / "metrics-test.json").read_text())
    two_ner = json.loads((out / "tasks" / "ner" / "metrics-test.json").read_text())
    assert {k: two_spam[k] for k in ("accuracy", "pr_auc")} == pytest.approx({k: spam[k] for k in ("accuracy", "pr_auc")})
    assert {k: two_ner[k] for k in ("f1", "token_accuracy")} == pytest.approx({k: ner[k] for k in ("f1", "token_accuracy")})
    assert len(json.loads((out / "history.json").read_text())) == 2

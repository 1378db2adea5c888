"""The task scripts and the Python API are the same steps: trained from one config and seed, they
give identical weights and metrics. Both run in fresh processes, as users run them."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}

API = """
import sys
from nlptransfer import EntityTagger, TextClassifier, load_run_config
run = load_run_config(sys.argv[1], sys.argv[2:])
make = EntityTagger if run.task == "ner" else TextClassifier
model = make.from_config(run).fit(run.train, run.validation)
model.evaluate(run.test, name="test")
model.save(run.output_dir)
"""


def _weights(folder: Path) -> dict:
    weights = {f"head.{k}": v for k, v in load_file(str(folder / "head.safetensors")).items()}
    for part in ("backbone/model.safetensors", "adapter/adapter_model.safetensors"):
        if (folder / part).exists():
            weights.update({f"{part}:{k}": v for k, v in load_file(str(folder / part)).items()})
    return weights


CASES = [("tasks/classification.py", "tasks/configs/spam.yaml", "bert", "full", "spam"),
         ("tasks/classification.py", "tasks/configs/sentiment.yaml", "gpt2", "lora", "sentiment"),
         ("tasks/tagging.py", "tasks/configs/ner.yaml", "roberta", "frozen", "ner")]


@pytest.mark.slow
@pytest.mark.parametrize("script,config,family,strategy,data", CASES, ids=[c[4] + "-" + c[3] for c in CASES])
def test_script_and_api_train_the_same_model(script, config, family, strategy, data, tiny_models, assets, tmp_path):
    files = {"spam": ("spam_train.csv", "spam_validation.csv"), "sentiment": ("sentiment_train.csv",
             "sentiment_validation.csv"), "ner": ("ner_train.txt", "ner_validation.txt")}[data]
    common = [f"model={tiny_models[family]}", f"strategy={strategy}", f"train={assets / files[0]}",
              f"validation={assets / files[1]}", f"test={assets / files[1]}", "epochs=2", "batch_size=4",
              "max_length=32", "progress=false", "seed=7"]
    outputs = {}
    for side, command in (("script", [sys.executable, script, "--config", config]),
                          ("api", [sys.executable, "-c", API, config])):
        out = tmp_path / side
        r = subprocess.run([*command, *common, f"output_dir={out}"], cwd=ROOT, env=ENV, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, f"{side}: {r.stderr[-3000:]}"
        outputs[side] = out
    a, b = _weights(outputs["script"]), _weights(outputs["api"])
    assert a.keys() == b.keys() and len(a) > 1
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=0, atol=0, msg=name)
    for split in ("validation", "test"):
        ma, mb = (json.loads((outputs[s] / f"metrics-{split}.json").read_text()) for s in ("script", "api"))
        assert ma == mb, split
    ha, hb = (json.loads((outputs[s] / "history.json").read_text()) for s in ("script", "api"))
    assert ha == hb and len(ha) == (1 if strategy == "frozen" else 2)  # frozen: one LogisticRegression fit
    meta = [json.loads((outputs[s] / "nlptransfer.json").read_text()) for s in ("script", "api")]
    assert meta[0] == meta[1] and meta[0]["strategy"] == strategy


@pytest.mark.parametrize("script,config,strategy,model,files", [
    ("tasks/classification.py", "tasks/configs/spam.yaml", "classic", "bert", ("spam_train.csv", "spam_validation.csv")),
    ("tasks/tagging.py", "tasks/configs/ner.yaml", "auto", "bert", ("ner_train.txt", "ner_validation.txt"))])
def test_scripts_run_classic_and_auto_as_the_train_command_does(script, config, strategy, model, files, tiny_models,
                                                                 assets, tmp_path):
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, script, "--config", config, f"model={tiny_models[model]}",
                        f"strategy={strategy}", f"train={assets / files[0]}", f"validation={assets / files[1]}",
                        f"test={assets / files[1]}", "epochs=1", "max_length=32", "progress=false",
                        "auto_candidates=1", f"output_dir={out}"], cwd=ROOT, env=ENV, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    meta = json.loads((out / "nlptransfer.json").read_text())
    test = json.loads((out / "metrics-test.json").read_text())
    if strategy == "classic":
        assert meta["format"] == "classic" and test["strategy"] == "classic"
    else:  # auto: the kept candidate is saved, and auto.md says which and why
        kept = json.loads((out / "auto.json").read_text())
        assert (meta["strategy"], meta["model"]) == (kept["strategy"], kept["model"])
        assert len(kept["rows"]) == 2 and kept["rows"][-1]["strategy"] == "classic"
    from nlptransfer import load

    model = load(out)
    assert model.strategy == meta["strategy"]


def test_the_shipped_multi_task_config_reads_and_points_at_real_files():
    from nlptransfer.multi_task_config import load_multi_task_config

    config = load_multi_task_config(ROOT / "tasks" / "configs" / "multi.yaml")
    assert {name: run.task for name, run in config.tasks.items()} == {"sentiment": "sentiment", "spam": "spam"}
    assert config.sampling == "temperature" and config.model == "minilm-l6"
    for name, run in config.tasks.items():
        for split in (run.train, run.validation, run.test):
            path = ROOT / split
            if "shared" in split and not path.exists():
                pytest.skip("../shared/data is not beside this checkout")
            assert path.exists(), f"{name}: {split}"

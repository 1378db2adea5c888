"""Every saved folder carries a model card built from its own files, refreshed by evaluate."""
import json
import subprocess
import sys

import yaml

from nlptransfer import TextClassifier, TrainConfig, load


def _header(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_saved_folder_has_a_card_that_evaluate_refreshes(tiny_models, assets, tmp_path):
    folder = tmp_path / "model"
    clf = TextClassifier(tiny_models["bert"], "spam", "frozen", output_dir=str(tmp_path / "run"),
                         training=TrainConfig(max_length=32, progress=False))
    clf.fit(assets / "spam_train.csv", assets / "spam_validation.csv").save(folder)
    card = (folder / "README.md").read_text()
    header = _header(card)
    assert header["library_name"] == "nlptransfer" and header["pipeline_tag"] == "text-classification"
    assert set(header["tags"]) == {"nlptransfer", "spam", "frozen"}
    assert f"trainable parameters {clf.parameters_.trainable:,} of {clf.parameters_.total:,}" in card
    assert f"at least {clf.threshold_:.3g}" in card and "ham, spam" in card
    saved = sorted(p.stem.removeprefix("metrics-") for p in folder.glob("metrics-*.json"))
    assert [r["dataset"]["name"] for r in header["model-index"][0]["results"]] == saved  # from the folder's files

    result = subprocess.run([sys.executable, "-m", "nlptransfer", "evaluate", str(folder), "--data",
                             str(assets / "spam_validation.csv"), "--name", "holdout"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((folder / "metrics-holdout.json").read_text())
    card = (folder / "README.md").read_text()
    results = {r["dataset"]["name"]: r for r in _header(card)["model-index"][0]["results"]}
    assert sorted(results) == sorted(saved + ["holdout"])
    entry = results["holdout"]
    assert entry["metrics"][0] == {"type": "positive_f1", "value": round(metrics["positive_f1"], 4)}
    low, high = metrics["ci95"]["positive_f1"]
    assert f"positive_f1 {metrics['positive_f1']:.4f} (95% bootstrap interval {low:.4f} to {high:.4f})" in card
    assert load(folder).predict(["win a prize"])  # the card does not disturb loading

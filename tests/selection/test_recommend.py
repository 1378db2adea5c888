"""recommend on tiny real architectures: every layer scored, costs timed, the rules applied."""
import json

import pytest
from transformers import AutoConfig

from nlptransfer import recommend
from nlptransfer.errors import ConfigError
from nlptransfer.selection.recommendation import FEW_PER_CLASS, FEWEST_FOR_PAIRS, PREFERENCE
from nlptransfer.selection.sample import typical_batch


@pytest.fixture(scope="module")
def sentiment(tiny_models, assets, tmp_path_factory):
    out = tmp_path_factory.mktemp("recommend")
    result = recommend("sentiment", assets / "sentiment_train.csv", assets / "sentiment_validation.csv",
                       models=[tiny_models["bert"], tiny_models["gpt2"]], sample_size=40, output_dir=out)
    return result, out


def test_every_checkpoint_and_strategy_is_ranked_and_written(sentiment, tiny_models):
    result, out = sentiment
    models = [tiny_models["bert"], tiny_models["gpt2"]]
    assert {(c.model, c.strategy) for c in result.candidates} == {
        (m, s) for m in models for s in ("full", "frozen", "lora", "partial", "gradual", "contrastive")}
    for row in result.checkpoints:
        layers = AutoConfig.from_pretrained(row["model"]).num_hidden_layers + 1  # and the embedding layer
        assert row["layers"] == layers == len(row["logme_per_layer"])
        assert row["best_layer"] == row["logme_per_layer"].index(max(row["logme_per_layer"]))
        assert row["last"]["layer"] == layers - 1
        assert 0.0 <= row["best"]["probe"] <= 1.0 and 0.0 <= row["best"]["knn"] <= 1.0
    for c in result.candidates:
        assert c.seconds > 0 and c.memory_mb > 0
        assert (c.steps == 0) == (c.strategy == "frozen")
        assert (c.predicted[1] is not None) == (c.strategy == "frozen")  # text classification: frozen's range
    for model in models:  # costs follow what trains: a constant or mixed-up cost fails here
        cost = {c.strategy: c for c in result.candidates if c.model == model}
        assert cost["full"].seconds > cost["frozen"].seconds  # hundreds of steps against one read
        assert cost["full"].memory_mb > cost["lora"].memory_mb  # optimizer state of every weight
        per_epoch = -(-result.data["train"] // 16)  # batch 16; the rule: 500 steps, 3 to 60 epochs
        assert cost["full"].epochs == min(max(-(-500 // per_epoch), 3), 60)
        assert cost["full"].steps == per_epoch * cost["full"].epochs
    saved = json.loads((out / "recommend.json").read_text())
    assert (saved["model"], saved["strategy"]) == (result.model, result.strategy)
    assert f"Train {result.strategy} on {result.model}" in (out / "recommend.md").read_text()
    assert (out / "recommend.png").stat().st_size > 1000


def test_typical_batch_is_timed_at_the_median_and_scaled_to_the_average_grouped_batch():
    # sorted, batches of 2 pad to 3, 5 and 20 (mean 28/3); the median batch (4, 5) pads to 5. A
    # mean over median text length (1.48) or no scaling (1.0) fails here.
    rows, scale = typical_batch([20, 6, 5, 4, 3, 2], 2)
    assert sorted(rows) == [2, 3] and scale == pytest.approx(28 / 3 / 5)
    assert typical_batch([7] * 9, 4)[1] == 1.0


def test_few_labels_put_contrastive_first_on_the_best_probed_checkpoint(sentiment):
    result, _ = sentiment
    assert result.data["smallest_class"] <= FEW_PER_CLASS  # the asset is small: the few-label rule applies
    probes = {c["model"]: c["best"]["probe"] for c in result.checkpoints}
    assert probes[result.model] >= max(probes.values()) - 0.01
    assert (result.model, result.strategy) == (result.candidates[0].model, "contrastive")
    order = [c.strategy for c in result.candidates if c.model == result.model]
    assert order == ["contrastive", "full", "lora", "frozen", "partial", "gradual"]  # outside the rules: last


def test_a_classic_bar_within_the_best_probes_spread_picks_classic_beyond_few_labels(sentiment):
    from nlptransfer.selection.recommendation import choose

    result, _ = sentiment
    best = max((c["best"] for c in result.checkpoints), key=lambda b: b["probe"])
    edge = best["probe"] - best["probe_spread"]

    def pick(bar, smallest=FEW_PER_CLASS + 1, unit="texts"):
        data = {**result.data, "smallest_class": smallest, "unit": unit, "classic": {"score": bar, "spread": 0.01}}
        chosen = choose("sentiment", data, result.checkpoints, result.candidates, None)
        return chosen.model, chosen.strategy

    assert pick(edge + 1e-6) == ("classic", "classic")
    beyond = choose("sentiment", {**result.data, "smallest_class": FEW_PER_CLASS + 1}, result.checkpoints,
                    result.candidates, None)
    first = beyond.candidates[0].model  # the pick itself is classic here; the ranking still holds
    order = [c.strategy for c in beyond.candidates if c.model == first]
    assert order == [*PREFERENCE, "partial", "gradual"] == ["full", "lora", "contrastive", "frozen", "partial",
                                                            "gradual"]
    assert pick(edge - 1e-3)[1] == "full"  # just outside the spread: the strongest strategy
    assert pick(edge + 1e-6, smallest=FEW_PER_CLASS)[1] == "contrastive"  # few labels: contrastive beat TF-IDF
    assert pick(edge + 1e-6, unit="sentences")[1] == "full"  # NER: fine-tuning far above its probe


def test_a_class_too_small_for_pairs_gets_the_strongest_strategy_not_contrastive_nor_classic(sentiment):
    from nlptransfer.selection.recommendation import choose

    result, _ = sentiment
    best = max((c["best"] for c in result.checkpoints), key=lambda b: b["probe"])
    data = {**result.data, "smallest_class": FEWEST_FOR_PAIRS - 1, "classic": {"score": best["probe"], "spread": 0.0}}
    chosen = choose("sentiment", data, result.checkpoints, result.candidates, None)
    # a classic bar level with the probe would pick classic with more data (rule 3); here it is noise
    assert (chosen.model, chosen.strategy) == (chosen.candidates[0].model, "full")
    assert [c.strategy for c in chosen.candidates if c.model == chosen.model] == [*PREFERENCE, "partial", "gradual"]
    assert "too few for contrastive pairs" in chosen.rules[1] and "contrastive pairs" in chosen.reason
    at_the_edge = choose("sentiment", {**data, "smallest_class": FEWEST_FOR_PAIRS}, result.checkpoints,
                         result.candidates, None)
    assert at_the_edge.strategy == "contrastive"


def test_checkpoints_tied_with_the_best_probe_go_cheapest_first_and_the_rest_by_probe():
    from nlptransfer.selection.recommendation import Candidate, choose

    # probe, seconds: "near" ties with the leader and is cheaper; "far" trails "mid" but is the
    # cheapest of all, so ordering the non-tied by cost (or everything by cost) fails here
    setup = {"lead": (0.80, 300.0), "near": (0.795, 100.0), "far": (0.70, 10.0), "mid": (0.75, 200.0)}
    checkpoints = [{"model": m, "best": {"probe": p, "probe_spread": 0.01}} for m, (p, _) in setup.items()]
    candidates = [Candidate(m, "full", (p, None), s, 1.0, False, 10, 3) for m, (p, s) in setup.items()]
    data = {"smallest_class": 500, "unit": "texts", "train": 1000, "classic": {"score": 0.5, "spread": 0.01}}
    chosen = choose("sentiment", data, checkpoints, candidates, None)
    assert [c.model for c in chosen.candidates] == ["near", "lead", "mid", "far"]
    assert (chosen.model, chosen.strategy) == ("near", "full")


def test_a_budget_picks_the_first_row_that_fits_and_none_gives_classic(sentiment):
    from nlptransfer.selection.recommendation import choose

    result, _ = sentiment
    cheapest = min(result.candidates, key=lambda c: c.seconds)
    budget = cheapest.seconds * 1.001
    picked = choose("sentiment", result.data, result.checkpoints, result.candidates, budget)
    chosen = next(c for c in picked.candidates if (c.model, c.strategy) == (picked.model, picked.strategy))
    assert chosen.seconds <= budget
    before = picked.candidates[:picked.candidates.index(chosen)]
    assert all(c.seconds > budget for c in before)
    nothing = choose("sentiment", result.data, result.checkpoints, result.candidates, cheapest.seconds / 2)
    assert (nothing.model, nothing.strategy) == ("classic", "classic")
    assert "classic" in nothing.reason


def test_ner_probes_words_and_scores_entities(tiny_models, assets, tmp_path, monkeypatch):
    from dataclasses import replace

    from nlptransfer.task_types import TASK_TYPES
    # NER's step minimum, scaled down below the 60-epoch cap (80 steps against 20 for classifiers)
    monkeypatch.setattr("nlptransfer.training.epochs.MIN_STEPS", 20)
    monkeypatch.setitem(TASK_TYPES, "ner", replace(TASK_TYPES["ner"], min_steps=80))
    result = recommend("ner", assets / "ner_train.txt", models=[tiny_models["roberta"]],
                       strategies=["full", "frozen"], sample_size=80)
    row = result.checkpoints[0]
    assert result.data["metric"] == "entity_f1" and result.data["unit"] == "sentences"
    assert 0.0 <= row["last"]["probe"] <= 1.0
    assert 0.0 < result.data["classic"]["score"] <= 1.0  # the feature tagger finds some entities
    assert result.strategy == "full"  # not few-shot: no per-class count for tags; strongest first
    full = next(c for c in result.candidates if c.strategy == "full")
    per_epoch = -(-result.data["train"] // 16)  # priced as fit trains: NER's minimum, not the classifiers'
    assert full.epochs == -(-80 // per_epoch) and full.steps == per_epoch * full.epochs >= 80
    frozen = next(c for c in result.candidates if c.strategy == "frozen")
    # a floor, not a range: the NER probe sees a quarter-size sample (frozen scored above its old top)
    assert frozen.predicted == (pytest.approx(max(0.0, row["last"]["probe"] - row["last"]["probe_spread"])), None)


@pytest.mark.parametrize("kwargs, words", [
    ({"task": "ner", "strategies": ["contrastive"]}, "for text classification"),
    ({"budget": "soon"}, "30m"),
    ({"budget": -5}, "more than zero"),
    ({"strategies": ["bogus"]}, "unknown strategy"),
    ({"sample_size": 5}, "at least 20"),
    ({"models": ""}, "at least one checkpoint"),
])
def test_bad_options_are_refused_before_any_model_loads(kwargs, words, assets, monkeypatch):
    from nlptransfer.selection import costs, sample

    for module in (costs, sample):
        monkeypatch.setattr(module, "build_task_model", lambda *a, **k: pytest.fail("a model loaded"))
    task = kwargs.pop("task", "sentiment")
    source = assets / ("ner_train.txt" if task == "ner" else "sentiment_train.csv")
    with pytest.raises(ConfigError, match=words):
        recommend(task, source, **kwargs)


def test_command_line_writes_the_files_and_bad_budget_exits_2(tiny_models, assets, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "rec"
    base = [sys.executable, "-m", "nlptransfer", "recommend", "--task", "spam", "--train",
            str(assets / "spam_train.csv"), "--models", tiny_models["bert"], "--sample-size", "20",
            "--strategies", "frozen,lora", "--output-dir", str(out)]
    bad = subprocess.run(base + ["--budget", "tomorrow"], capture_output=True, text=True)
    assert bad.returncode == 2 and "budget" in bad.stderr and not out.exists()
    good = subprocess.run(base + ["--budget", "1h"], capture_output=True, text=True)
    assert good.returncode == 0, good.stderr[-2000:]
    assert "Recommendation for spam" in good.stdout
    assert json.loads((out / "recommend.json").read_text())["budget_seconds"] == 3600

"""EntityTagger: strategy x family on tiny random-init models; predictions and round trips."""
import pytest
import torch
from conftest import FAMILIES, LORA_PARAMETERS

from nlptransfer import EntityTagger, TrainConfig, load
from nlptransfer.estimators.tagging import predict_word_logits

HIDDEN, N_TAGS = 32, 7
CASES = [(s, f) for s in ("full", "frozen", "lora") for f in FAMILIES]


def _fit(model, strategy, assets, tmp_path, **overrides):
    settings = dict(epochs=4, batch_size=8, learning_rate={"full": 1e-3, "lora": 5e-3, "frozen": 5e-2}[strategy],
                    early_stopping_patience=None, warmup_ratio=0.0, progress=False, max_length=32)
    if strategy == "frozen":  # the head trained by the loop (its loss must fall); the sklearn head has its own test
        settings["head"] = "linear"
    settings.update(overrides)
    tagger = EntityTagger(model, strategy, training=TrainConfig(**settings), output_dir=str(tmp_path / "run"))
    return tagger.fit(assets / "ner_train.txt", assets / "ner_validation.txt")


@pytest.mark.parametrize("strategy,family", CASES, ids=["-".join(c) for c in CASES])
def test_strategy_family(strategy, family, tiny_models, assets, tmp_path):
    tagger = _fit(tiny_models[family], strategy, assets, tmp_path)
    losses = [row["train_loss"] for row in tagger.history_]
    assert losses[-1] < losses[0], losses
    head = HIDDEN * N_TAGS + N_TAGS
    count = tagger.parameters_
    if strategy == "frozen":
        assert count.trainable == head
    elif strategy == "full":
        assert count.trainable == count.total
    else:
        lora = LORA_PARAMETERS[family]
        assert sum(p.numel() for n, p in tagger.model_.named_parameters() if "lora_" in n) == lora
        assert count.trainable == lora + head

    sentences = [["Anna", "Berg", "visited", "Paris", "."], ["Globex", "opened", "an", "office"]]
    tags = tagger.predict(sentences)
    assert [len(t) for t in tags] == [5, 4] and all(t in tagger.classes_ for s in tags for t in s)
    before = predict_word_logits(tagger.fitted_, sentences)
    again = load(tagger.save(tmp_path / "saved"))
    for a, b in zip(predict_word_logits(again.fitted_, sentences), before):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert again.predict(sentences) == tags
    if strategy == "lora":
        merged = tagger.merge()
        for a, b in zip(predict_word_logits(merged.fitted_, sentences), before):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    metrics = again.evaluate(assets / "ner_validation.txt")
    assert {"f1", "precision", "recall", "macro_f1", "token_accuracy", "per_class"} <= set(metrics)


def test_learns_entities_with_offsets(tiny_models, assets, tmp_path):
    tagger = _fit(tiny_models["bert"], "full", assets, tmp_path, epochs=25, learning_rate=3e-3)
    assert tagger.evaluate(assets / "ner_validation.txt")["f1"] >= 0.6
    text = "Keiko Sato visited Oslo in July."
    entities = tagger.predict(text)
    assert all(text[e["start"]:e["end"]] == e["text"] and 0 < e["score"] <= 1 for e in entities)
    assert {"text": "Oslo", "type": "LOC", "start": 19, "end": 23} in [
        {k: e[k] for k in ("text", "type", "start", "end")} for e in entities]
    assert tagger.predict(["", "Hi there"])[0] == []


def test_long_sentence_gets_one_tag_per_word(tiny_models, assets, tmp_path):
    tagger = _fit(tiny_models["gpt2"], "frozen", assets, tmp_path, max_length=12, window_overlap=3, epochs=1)
    long = ("Anna Berg visited Paris and then Tomas Lind went to Oslo with Maria Costa " * 3).split()
    assert len(tagger.predict([long])[0]) == len(long)


@pytest.mark.parametrize("min_steps,epochs", [(None, 6), (16, 4)])
def test_epochs_from_the_data_reach_the_ner_step_minimum(min_steps, epochs, tiny_models, assets, tmp_path,
                                                         monkeypatch, capsys):
    # 30 sentences at batch 8: 4 steps an epoch. Scaled down from 500 and 1,000: a classifier's rule
    # (8 steps) would give the 3-epoch floor, NER's 24 steps give 6 epochs; min_steps=16 sets 4.
    from dataclasses import replace

    from nlptransfer.task_types import TASK_TYPES
    monkeypatch.setattr("nlptransfer.training.epochs.MIN_STEPS", 8)
    monkeypatch.setitem(TASK_TYPES, "ner", replace(TASK_TYPES["ner"], min_steps=24))
    cfg = TrainConfig(batch_size=8, max_length=32, early_stopping_patience=None, progress=False,
                      min_steps=min_steps)
    tagger = EntityTagger(tiny_models["bert"], "full", training=cfg, output_dir=str(tmp_path / "run"))
    tagger.fit(assets / "ner_train.txt")
    assert len(tagger.history_) == epochs
    out = capsys.readouterr().out
    assert f"{epochs} epochs, chosen from the data (4 optimizer steps per epoch; at least {min_steps or 24} steps" in out

"""Domain- and task-adaptive pretraining on the tiny families: the LM loss falls, what is saved is
what was trained, every strategy builds on the adapted folder, masks are fixed per batch, resume
is exact, and adapt=task runs inside fit and compare."""
import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from nlptransfer import ConfigError, TextClassifier, TrainConfig, adapt, compare, load
from nlptransfer.models.architectures import ARCHITECTURES
from nlptransfer.models.pretrained import load_language_model, load_tokenizer
from nlptransfer.models.task_model import build_task_model
from nlptransfer.strategies import STRATEGIES
from nlptransfer.training.adaptation import HEAD_WARMUP_STEPS, _warm_up_head
from nlptransfer.training.lm_objective import LanguageModelCollator, LanguageModelNet, corpus_rows, lm_loss

BIN = [sys.executable, "-m", "nlptransfer"]


def _texts(assets) -> list[str]:
    return pd.read_csv(assets / "sentiment_train.csv")["text"].tolist()


def _config(**kw) -> TrainConfig:
    return TrainConfig(**{"epochs": 3, "batch_size": 8, "max_length": 32, "learning_rate": 2e-3, "progress": False,
                          "warmup_ratio": 0.0, **kw})


@pytest.mark.parametrize("family", ["bert", "gpt2"])  # masked LM (with a head made fresh) and causal LM
def test_adapt_lowers_the_lm_loss_and_saves_what_it_trained(family, tiny_models, assets, tmp_path):
    out = tmp_path / "adapted"
    done = adapt(tiny_models[family], _texts(assets), out, training=_config(), held_out=0.2)
    assert done.objective == ("causal LM" if family == "gpt2" else "masked LM")
    assert done.held_out_loss_after < done.held_out_loss_before - 0.5, (done.held_out_loss_before,
                                                                          done.held_out_loss_after)
    record = json.loads((out / "adaptation.json").read_text())
    assert record["held_out_texts"] == round(0.2 * len(_texts(assets))) and record["optimizer_steps"] > 0
    # The tiny checkpoints are bare backbones: the LM head is new (BERT: transform layer; GPT-2's
    # output layer is the tied input embedding, so nothing of it is missing).
    assert bool(done.new_head) == (family == "bert")
    # Reloaded from disk, the held-out loss is the one measured after training: the folder holds
    # the trained weights, LM head included, not the starting ones.
    arch = ARCHITECTURES[family]
    tokenizer = load_tokenizer(str(out), arch)
    lm, missing = load_language_model(str(out), arch, tokenizer.pad_token_id)
    assert missing == []
    held = pd.read_csv(assets / "sentiment_train.csv")["text"].tolist()
    order = __import__("numpy").random.default_rng(42).permutation(len(held))
    held = [held[i] for i in sorted(order[:record["held_out_texts"]])]
    collate = LanguageModelCollator(tokenizer, arch.decoder, 42)
    rows = corpus_rows(tokenizer, held, 32)
    net = LanguageModelNet(lm, None if arch.decoder else rows[0]["input_ids"])
    assert lm_loss(net, rows, collate, "cpu", 8) == pytest.approx(done.held_out_loss_after, abs=1e-5)
    # The fresh BERT head trained alone first; it lowered the held-out loss on its own.
    warmup = record["head_warmup"]
    if family == "bert":
        assert warmup["steps"] >= HEAD_WARMUP_STEPS and warmup["tensors"]
        assert done.held_out_loss_after < warmup["held_out_loss"] < done.held_out_loss_before
    else:
        assert warmup is None


def test_every_pretrained_strategy_builds_on_the_adapted_backbone(tiny_models, assets, tmp_path):
    out = tmp_path / "adapted"
    adapt(tiny_models["bert"], _texts(assets), out, training=_config(epochs=1), held_out=0)
    adapted = load_file(str(out / "model.safetensors"))["bert.embeddings.word_embeddings.weight"]
    base = build_task_model(tiny_models["bert"], 2, "full", _config()).net
    assert not torch.equal(base.backbone.embeddings.word_embeddings.weight, adapted)
    for name, plan in STRATEGIES.items():
        if plan.pretrained and plan.neural:
            net = build_task_model(str(out), 2, name, _config()).net
            embeddings = dict(net.backbone.named_parameters())
            key = next(k for k in embeddings if k.endswith("embeddings.word_embeddings.weight"))
            assert torch.equal(embeddings[key].detach(), adapted), name


def test_masks_are_fixed_per_batch_new_per_composition_and_spare_special_tokens(tiny_models, assets):
    tokenizer = load_tokenizer(tiny_models["bert"], ARCHITECTURES["bert"])
    rows = corpus_rows(tokenizer, _texts(assets) * 4, 32)
    collate = LanguageModelCollator(tokenizer, causal=False, seed=0)
    batch = [rows[i] for i in range(16)]
    first, again = collate(batch), collate(batch)
    assert torch.equal(first["input_ids"], again["input_ids"]) and torch.equal(first["labels"], again["labels"])
    other = collate([rows[i] for i in range(1, 17)])  # 15 rows shared, a different batch: masked afresh
    assert not torch.equal(first["labels"][1:], other["labels"][:15])
    batches = [collate([rows[i] for i in range(s, s + 16)]) for s in range(0, len(rows) - 16, 16)]
    targets = sum(int((b["labels"] != -100).sum()) for b in batches)
    maskable = sum(int(b["attention_mask"].sum()) - 2 * len(b["labels"]) for b in batches)  # less [CLS], [SEP]
    assert 0.12 < targets / maskable < 0.18, (targets, maskable)  # 15% of the tokens, ~1,500 of them
    special = torch.isin(first["input_ids"], torch.tensor([tokenizer.cls_token_id, tokenizer.sep_token_id]))
    assert not ((first["labels"] != -100) & special).any()


def _masked_lm(family, tiny_models, assets):
    arch = ARCHITECTURES[family]
    tokenizer = load_tokenizer(tiny_models[family], arch)
    lm, missing = load_language_model(tiny_models[family], arch, tokenizer.pad_token_id)
    rows = corpus_rows(tokenizer, _texts(assets), 32)
    return lm, missing, rows, LanguageModelCollator(tokenizer, causal=False, seed=0)


@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_the_head_runs_on_masked_positions_only_with_the_full_models_logits_there(family, tiny_models, assets):
    lm, _, rows, collate = _masked_lm(family, tiny_models, assets)
    net = LanguageModelNet(lm, rows[0]["input_ids"]).eval()
    assert net.head is not None  # base model + one per-position head: split
    batch = collate([rows[i] for i in range(8)])
    with torch.no_grad():
        full = lm(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        sparse = net(batch["input_ids"], batch["attention_mask"], batch["predict_at"])
    assert sparse.shape == (int(batch["predict_at"].sum()), full.shape[-1]) and sparse.shape[0] > 0
    torch.testing.assert_close(sparse, full[batch["predict_at"]], atol=1e-5, rtol=1e-5)
    # A model that is more than base + head is not split; its output is the full logits, selected.
    lm.extra = torch.nn.Linear(2, 2)
    fallback = LanguageModelNet(lm, rows[0]["input_ids"]).eval()
    assert fallback.head is None
    with torch.no_grad():
        torch.testing.assert_close(fallback(batch["input_ids"], batch["attention_mask"], batch["predict_at"]),
                                   full[batch["predict_at"]], atol=1e-5, rtol=1e-5)


def test_the_warm_up_trains_the_fresh_head_alone_then_unfreezes(tiny_models, assets, tmp_path):
    from accelerate import Accelerator

    lm, missing, rows, collate = _masked_lm("bert", tiny_models, assets)
    net = LanguageModelNet(lm, rows[0]["input_ids"])
    start = {n: p.detach().clone() for n, p in lm.named_parameters()}
    record = _warm_up_head(net, missing, rows, rows, collate, _config(), Accelerator(cpu=True), tmp_path)
    moved = {n for n, p in lm.named_parameters() if not torch.equal(p.detach(), start[n])}
    assert moved and moved == set(record["tensors"]) and moved <= set(missing), (moved, missing)
    assert "bert.embeddings.word_embeddings.weight" not in moved  # the tied output layer stays the embeddings
    assert all(p.requires_grad for p in lm.parameters())
    assert record["steps"] >= HEAD_WARMUP_STEPS and json.loads((tmp_path / "head_warmup.json").read_text()) == record


def test_resume_in_the_middle_of_adaptation_ends_identical(tiny_models, assets, tmp_path):
    cfg = _config(epochs=2, checkpoint_every_steps=2, checkpoint_limit=20)
    whole = tmp_path / "whole"
    adapt(tiny_models["bert"], _texts(assets), whole, training=cfg, held_out=0)
    steps = sorted((whole / "checkpoints").iterdir())
    assert len(steps) >= 3
    resumed = tmp_path / "resumed"
    shutil.copytree(steps[1], resumed / "checkpoints" / steps[1].name)  # stopped after step 4 of an epoch
    adapt(tiny_models["bert"], _texts(assets), resumed, held_out=0,
          training=_config(epochs=2, checkpoint_every_steps=2, checkpoint_limit=20, resume_from_checkpoint="latest"))
    a, b = load_file(str(whole / "model.safetensors")), load_file(str(resumed / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_fit_with_adapt_task_trains_on_the_adapted_backbone_and_saves_it(tiny_models, assets, tmp_path, capsys):
    cfg = _config(adapt="task", adapt_epochs=2, epochs=1)
    run = tmp_path / "run"
    clf = TextClassifier(tiny_models["bert"], "sentiment", "frozen", training=cfg, output_dir=str(run))
    clf.fit(assets / "sentiment_train.csv", assets / "sentiment_validation.csv")
    record = json.loads((run / "adapted" / "adaptation.json").read_text())
    assert record["train_texts"] == len(_texts(assets))
    assert record["held_out_texts"] == len(pd.read_csv(assets / "sentiment_validation.csv"))
    assert record["held_out_loss_after"] < record["held_out_loss_before"]
    adapted = load_file(str(run / "adapted" / "model.safetensors"))["bert.embeddings.word_embeddings.weight"]
    assert torch.equal(clf.model_.backbone.embeddings.word_embeddings.weight.detach(), adapted)
    assert clf.train_seconds_ >= record["seconds"] - 0.05  # the record rounds to 0.1 s
    saved = clf.save(tmp_path / "saved")
    assert not (saved / "backbone" / "base.json").exists()  # the adapted backbone is copied, not referenced
    assert "adaptive pretraining: task" in (saved / "README.md").read_text()
    texts = ["a wonderful film", "dull and far too long"]
    assert (load(saved).predict_proba(texts) == pytest.approx(clf.predict_proba(texts), abs=1e-6))
    # Resuming the run reuses the finished adaptation instead of adapting again.
    stamp = (run / "adapted" / "adaptation.json").stat().st_mtime_ns
    capsys.readouterr()
    TextClassifier(tiny_models["bert"], "sentiment", "frozen", output_dir=str(run),
                   training=_config(adapt="task", adapt_epochs=2, epochs=1, resume_from_checkpoint="latest")
                   ).fit(assets / "sentiment_train.csv", assets / "sentiment_validation.csv")
    assert "reusing the adapted checkpoint" in capsys.readouterr().out
    assert (run / "adapted" / "adaptation.json").stat().st_mtime_ns == stamp


def test_ner_fit_adapts_on_the_joined_sentences(tiny_models, assets, tmp_path):
    from nlptransfer import EntityTagger

    run = tmp_path / "run"
    EntityTagger(tiny_models["gpt2"], "lora", training=_config(adapt="task", adapt_epochs=1, epochs=1),
                 output_dir=str(run)).fit(assets / "ner_train.txt", assets / "ner_validation.txt")
    record = json.loads((run / "adapted" / "adaptation.json").read_text())
    assert record["objective"] == "causal LM" and record["optimizer_steps"] > 0


def test_compare_runs_each_strategy_with_and_without_adaptation(tiny_models, assets, tmp_path):
    summary = compare("sentiment", assets / "sentiment_train.csv", assets / "sentiment_validation.csv",
                      assets / "sentiment_validation.csv", models=[tiny_models["bert"]],
                      strategies=["frozen", "scratch"],
                      adapt=["none", "task"], seeds=1, classic=False, output_dir=str(tmp_path / "cmp"),
                      training=_config(epochs=1, adapt_epochs=1))
    assert sorted({r["strategy"] for r in summary["rows"]}) == ["frozen", "frozen+adapt", "scratch"]  # no scratch+adapt
    assert [(g["strategy"], g["reference"]) for g in summary["versus_plain"]] == [("frozen+adapt", "frozen")]
    assert "What each technique adds over plain fine-tuning" in (tmp_path / "cmp" / "report.md").read_text()
    adapted_run = next((tmp_path / "cmp" / "runs").glob("*frozen+adapt*"))
    assert (adapted_run / "run" / "adapted" / "adaptation.json").exists()


def test_bad_adapt_inputs_fail_before_any_model_loads(tmp_path, tiny_models):
    with pytest.raises(ConfigError, match="adapt=task continues a checkpoint's pretraining"):
        TextClassifier(tiny_models["bert"], "sentiment", "scratch", training=TrainConfig(adapt="task"))._run_config()
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n\n")
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    cases = [(["--texts", str(tmp_path / "missing.txt")], "missing.txt' does not exist"),
             (["--texts", str(blank)], "is empty or blank; it needs one text per line"),
             (["--texts", str(tmp_path / "missing.csv"), "--text-column", "body"], "missing.csv' does not exist")]
    for args, message in cases:
        r = subprocess.run([*BIN, "adapt", "--model", "no/such-model", "--output-dir", str(tmp_path / "o"), *args],
                           capture_output=True, text=True)
        assert r.returncode == 2 and message in r.stderr, r.stderr
    texts = tmp_path / "corpus.txt"
    texts.write_text("one text\nanother text\n")
    r = subprocess.run([*BIN, "adapt", "--model", "no/such-model", "--texts", str(texts), "--output-dir", str(full)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "is not empty" in r.stderr and (full / "notes.txt").read_text() == "mine"

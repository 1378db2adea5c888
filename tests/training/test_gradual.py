"""Gradual unfreezing: which parameters train at each epoch (read from the real per-epoch
checkpoints), the stage plan, and resuming in the middle of it."""
import shutil

import pytest
import torch
from conftest import TINY
from safetensors.torch import load_file

from nlptransfer import TextClassifier, TrainConfig
from nlptransfer.layer_map import layer_map
from nlptransfer.models.task_model import build_task_model
from nlptransfer.training.unfreezing import GradualUnfreezing

L = TINY["layers"]
STEPS = 6  # 48 training sentences at batch 8


def _config(**kw) -> TrainConfig:
    return TrainConfig(**{"epochs": L + 2, "batch_size": 8, "max_length": 32, "learning_rate": 1e-3,
                          "unfreeze_every": STEPS, "early_stopping_patience": None, "warmup_ratio": 0.0,
                          "checkpoint_every_epoch": True, "checkpoint_limit": L + 2, "progress": False, **kw})


@pytest.mark.parametrize("family", ["bert", "gpt2"])  # an encoder and a decoder; every layer map: test_layers
def test_each_epoch_trains_one_more_block_from_the_top(family, tiny_models, assets, tmp_path):
    cfg = _config()
    net = build_task_model(tiny_models[family], 2, "full", cfg).net
    before = {k: v.clone() for k, v in net.state_dict().items()}
    ids = torch.tensor([[5, 6, 7, 8]])
    net(input_ids=ids, attention_mask=torch.ones_like(ids)).sum().backward()
    used = {name for name, p in net.named_parameters() if p.grad is not None}  # not, e.g., BERT's unused pooler
    clf = TextClassifier(tiny_models[family], "sentiment", "gradual", training=cfg, output_dir=str(tmp_path / "r"))
    clf.fit(assets / "sentiment_train.csv")
    depth = layer_map(clf.model_).depth
    for epoch in range(1, L + 3):
        weights = load_file(str(tmp_path / "r" / "checkpoints" / f"step-{epoch * STEPS:08d}" / "model.safetensors"))
        lowest = L + 2 if epoch == 1 else L + 2 - epoch  # epoch 1: the head alone; the embeddings (0) last
        changed = {name: not torch.equal(weights[name], before[name]) for name in used}
        assert changed["head.weight"], f"epoch {epoch}: the head did not train"
        for name, moved in changed.items():
            if depth[name] is not None:
                assert moved == (depth[name] >= lowest), \
                    f"epoch {epoch}: {name} (depth {depth[name]}) {'moved' if moved else 'did not move'}"
    trained = [row["trained"] for row in clf.history_]
    assert trained == ["head only"] + [f"head + top {k} of {L} blocks" for k in range(1, L + 1)] + ["everything"]


def test_default_stages_follow_epochs_unless_that_leaves_the_bottom_untrained(tiny_models):
    net = build_task_model(tiny_models["bert"], 2, "full", TrainConfig(max_length=32)).net
    # L + 1 = 3 joins: one per epoch fits in the first half of 10 epochs ...
    assert GradualUnfreezing(net, per_epoch=20, updates=200).steps_per_stage == 20
    # ... but not of 3 epochs: shortened so every block has joined by step 150 of 300
    plan = GradualUnfreezing(net, per_epoch=100, updates=300)
    assert plan.steps_per_stage == 50 and plan.stage(149) == L + 1 - 1 and plan.stage(150) == L + 1
    assert GradualUnfreezing(net, per_epoch=100, updates=300, steps_per_stage=7).steps_per_stage == 7
    assert [plan.lowest_depth(s) for s in (0, 49, 50, 100, 150, 10_000)] == [L + 2, L + 2, L, L - 1, 0, 0]


def test_resume_in_the_middle_of_unfreezing_ends_identical(tiny_models, assets, tmp_path):
    whole = TextClassifier(tiny_models["bert"], "sentiment", "gradual", training=_config(),
                           output_dir=str(tmp_path / "whole"))
    whole.fit(assets / "sentiment_train.csv")
    # the same run as if stopped after epoch 2 (the top block had just joined): its later
    # checkpoints moved away, then resumed
    part = tmp_path / "part"
    shutil.copytree(tmp_path / "whole", part)
    for late in range(3, L + 3):
        (part / "checkpoints" / f"step-{late * STEPS:08d}").rename(part / f"later-{late}")
    resumed = TextClassifier(tiny_models["bert"], "sentiment", "gradual",
                             training=_config(resume_from_checkpoint="latest"),
                             output_dir=str(part))
    resumed.fit(assets / "sentiment_train.csv")
    assert resumed.history_[-1]["trained"] == "everything"
    for (name, a), (_, b) in zip(whole.model_.state_dict().items(), resumed.model_.state_dict().items()):
        assert torch.equal(a, b), name


def test_epochs_from_the_data_give_everything_min_steps_after_the_last_join(tiny_models):
    from nlptransfer.training.epochs import MAX_EPOCHS, MIN_STEPS, epochs_for, unfreezing_steps

    assert MIN_STEPS == 500  # the hand-worked numbers assume it
    # CoNLL-2003 at 800 sentences on all-MiniLM-L6-v2 (6 blocks): 50 steps an epoch. full: 10 epochs;
    # gradual joins a group per epoch (7 groups: 350 steps), then needs 500 more: 17 epochs
    assert epochs_for(50) == 10 and unfreezing_steps(50, 6) == 350 and epochs_for(50, 350) == 17
    # 200 steps an epoch: a group per epoch would be 1,400 steps; shortened to the first half of 1,000
    assert unfreezing_steps(200, 6) == 500 and epochs_for(200, 500) == 5
    assert unfreezing_steps(200, 6, unfreeze_every=10) == 70
    net = build_task_model(tiny_models["bert"], 2, "full", TrainConfig(max_length=32)).net
    for per_epoch in [1, 2, 5, 17, 50, 100, 166, 167, 250, 499, 1000, 3000]:
        for every in (None, 3, 40):
            epochs = epochs_for(per_epoch, unfreezing_steps(per_epoch, L, every))
            updates = epochs * per_epoch
            plan = GradualUnfreezing(net, per_epoch=per_epoch, updates=updates, steps_per_stage=every)
            joined = next((s for s in range(updates) if plan.everything_joined(s)), updates)
            assert updates - joined >= MIN_STEPS or epochs == MAX_EPOCHS, (per_epoch, every, joined, updates)
            if epochs < MAX_EPOCHS:  # and not many more: one epoch fewer would not do it at this schedule
                assert (epochs - 1) * per_epoch - joined < MIN_STEPS or epochs == 3, (per_epoch, every)


def test_gradual_chooses_more_epochs_than_full_and_says_why(tiny_models, assets, tmp_path, capsys):
    # 48 sentences at batch 1: 48 steps an epoch. full: ceil(500 / 48) = 11 epochs; gradual adds
    # its 3 groups (2 blocks and the embeddings), one per epoch: ceil((500 + 144) / 48) = 14
    epochs = {}
    for name in ("full", "gradual"):
        cfg = TrainConfig(batch_size=1, max_length=16, progress=False, early_stopping_patience=None)
        clf = TextClassifier(tiny_models["bert"], "sentiment", name, training=cfg, output_dir=str(tmp_path / name))
        clf.fit(assets / "sentiment_train.csv")
        epochs[name] = len(clf.history_)
    assert epochs == {"full": 11, "gradual": 14}
    assert "at least 500 steps after the 144 of gradual unfreezing" in capsys.readouterr().out


def test_early_stopping_waits_until_everything_has_joined(tiny_models, assets, tmp_path):
    # a learning rate too small to change any prediction: every epoch after the first is stale
    cfg = _config(learning_rate=1e-12, early_stopping_patience=1, checkpoint_every_epoch=False)
    clf = TextClassifier(tiny_models["bert"], "sentiment", "gradual", training=cfg, output_dir=str(tmp_path / "r"))
    clf.fit(assets / "sentiment_train.csv", assets / "sentiment_validation.csv")
    # everything trains from step 6 x (L + 1) = 18, in epoch 4: the first stale epoch that counts
    assert [row["trained"] for row in clf.history_][-1] == "everything" and len(clf.history_) == L + 2


def test_a_step_minimum_of_the_task_type_scales_the_epochs():
    from nlptransfer.training.epochs import describe, epochs_for, unfreezing_steps

    # CoNLL-2003 at 800 sentences (50 steps an epoch) with NER's 1,000: 20 epochs for full; gradual
    # joins its 7 groups in 350 steps, then trains everything for 1,000 more: 27
    assert epochs_for(50, min_steps=1000) == 20
    assert unfreezing_steps(50, 6, after=1000) == 350 and epochs_for(50, 350, 1000) == 27
    # 200 steps an epoch: a group per epoch (1,400) would pass half of 2,000; joined in 1,000 instead
    assert unfreezing_steps(200, 6, after=1000) == 1000 and epochs_for(200, 1000, 1000) == 10
    assert describe(0, 1000).startswith("at least 1000 steps") and describe().startswith("at least 500 steps")

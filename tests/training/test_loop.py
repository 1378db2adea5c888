"""The training loop: one optimizer step's update does not depend on how its batch is split (NER
and class-weighted classification), early stopping restores the best epoch, optimizer groups,
and the data order per seed and epoch."""
import pytest
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from conftest import flat_parameters

from nlptransfer import TrainConfig
from nlptransfer.data.batching import encode_texts, text_collator
from nlptransfer.data.word_windows import encode_words
from nlptransfer.data.word_windows import tag_collator
from nlptransfer.models.task_model import build_task_model
from nlptransfer.training.loop import _restore, train_model
from nlptransfer.training.losses import SummedCrossEntropy
from nlptransfer.training.optimizer import optimizer_groups

TEXTS = ["the film was great", "the hotel was awful", "a real joy", "waste of money", "superb service",
         "terrible dinner", "wonderful book", "broken laptop"]
# Sentences of very different lengths: a per-micro-batch mean would weigh their tokens unequally.
SENTENCES = [["Anna", "Berg", "sings"], ["Omar", "works", "at", "Globex", "in", "Oslo", "with", "Keiko", "Sato", "now"],
             ["Hi"], ["Paris"], ["Tomas", "Lind", "went", "to", "Rome", "and", "Lima", "with", "Maria", "Costa", "too",
                                 "today"], ["ok"], ["Globex", "hired", "Anna"], ["Rome"]]
TAGS = [[1, 2, 0], [1, 0, 0, 3, 0, 5, 0, 1, 2, 0], [0], [5], [1, 2, 0, 0, 5, 0, 5, 0, 1, 2, 0, 0], [0], [3, 0, 1],
        [5]]


def _config(batch_size, accumulate, group_by_length=False, **extra):
    return TrainConfig(epochs=1, batch_size=batch_size, gradient_accumulation_steps=accumulate, warmup_ratio=0.0,
                       group_by_length=group_by_length, progress=False, seed=0, early_stopping_patience=None,
                       dropout=0.0, max_grad_norm=1e9, **extra)  # no clipping: it would hide a wrongly scaled gradient


def _fresh(model, n_labels, cfg, pooling=None):
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    torch.manual_seed(0)
    built = build_task_model(model, n_labels, "full", cfg, pooling=pooling)
    for module in built.net.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return built


def _update(built, data, collate, cfg, loss_fn):
    before = flat_parameters(built.net)
    result = train_model(built.net, data, collate, config=cfg, learning_rate=1e-2, loss_fn=loss_fn,
                         accelerator=Accelerator(gradient_accumulation_steps=cfg.gradient_accumulation_steps, cpu=True))
    assert result.optimizer_steps == 1
    return flat_parameters(built.net) - before


@pytest.mark.parametrize("task", ["ner", "weighted-classification"])
def test_split_batches_make_the_update_of_one_batch(task, tiny_models, plain_sgd):
    updates = []
    for batch_size, accumulate in ((8, 1), (4, 2), (2, 4), (1, 8)):
        cfg = _config(batch_size, accumulate)
        if task == "ner":
            built = _fresh(tiny_models["bert"], 7, cfg, pooling="none")
            data = encode_words(built.tokenizer, SENTENCES, 64, 4, TAGS)
            updates.append(_update(built, data, tag_collator(built.tokenizer), cfg, SummedCrossEntropy()))
        else:
            built = _fresh(tiny_models["bert"], 2, cfg)
            data = encode_texts(built.tokenizer, TEXTS, 32, [0, 0, 0, 0, 0, 0, 1, 1])
            loss = SummedCrossEntropy(torch.tensor([0.6, 2.5]))
            updates.append(_update(built, data, text_collator(built.tokenizer), cfg, loss))
    assert updates[0].abs().max() > 1e-4
    for other in updates[1:]:
        torch.testing.assert_close(other, updates[0], rtol=1e-3, atol=1e-8)


def test_every_labelled_word_weighs_alike_in_every_step(tiny_models, monkeypatch):
    """Length-grouped NER batches: the 4 longest sentences (28 labelled words) make one step, the
    4 shortest (4) the other. Each step's gradient is its summed loss over the mean step's weight,
    so the two steps' gradients add up to twice the gradient of one batch of all 8; dividing each
    step by its own weight (4 vs 28) would weigh a short sentence's word 7 times as much."""
    grads = []

    class Recording(torch.optim.SGD):  # lr 0: the weights stay put, each step's gradient is kept
        def step(self, closure=None):
            grads.append(torch.cat([p.grad.flatten().clone() for g in self.param_groups for p in g["params"]]))

    monkeypatch.setattr(torch.optim, "AdamW", lambda groups: Recording([{**g, "lr": 0.0} for g in groups], lr=0.0))
    by_layout = {}
    for batch_size in (8, 4):
        cfg = _config(batch_size, 1, group_by_length=True)
        built = _fresh(tiny_models["bert"], 7, cfg, pooling="none")
        data = encode_words(built.tokenizer, SENTENCES, 64, 4, TAGS)
        grads.clear()
        train_model(built.net, data, tag_collator(built.tokenizer), config=cfg, learning_rate=1e-2,
                    loss_fn=SummedCrossEntropy(), accelerator=Accelerator(cpu=True))
        by_layout[batch_size] = list(grads)
    (whole,), (long, short) = by_layout[8], by_layout[4]
    assert whole.abs().max() > 1e-4
    torch.testing.assert_close(long + short, 2 * whole, rtol=1e-4, atol=1e-7)
    assert (long - short).abs().max() > 0.1 * whole.abs().max()  # two different batches, not one twice


def test_early_stopping_restores_the_best_epoch(tiny_models):
    cfg = TrainConfig(epochs=3, batch_size=4, progress=False, seed=0, early_stopping_patience=None,
                      group_by_length=False)
    built = _fresh(tiny_models["bert"], 2, cfg)
    data = encode_texts(built.tokenizer, TEXTS, 32, [0, 1] * 4)
    snapshots, scripted = [], iter([0.5, 0.9, 0.1])

    def score(logits, labels):  # the weights each epoch ended with, and a score that peaks at epoch 2
        snapshots.append(flat_parameters(built.net))
        return next(scripted)

    result = train_model(built.net, data, text_collator(built.tokenizer), config=cfg, learning_rate=1e-3,
                         accelerator=Accelerator(cpu=True), loss_fn=SummedCrossEntropy(), validation_set=data,
                         score_fn=score, score_name="macro_f1")
    assert result.best_epoch == 2 and len(result.history) == 3
    assert not torch.equal(snapshots[1], snapshots[2])
    assert torch.equal(flat_parameters(built.net), snapshots[1])


@pytest.mark.parametrize("epochs", [None, 10])
def test_patience_spans_min_stale_steps_when_epochs_follow_the_data(epochs, tiny_models, monkeypatch, capsys):
    # 8 texts at batch 4: 2 steps an epoch. Data-chosen epochs (at least 20 steps: 10 epochs) stretch
    # patience 3 to the 12 steps a stale stretch must span: 6 epochs, so a score that peaks at epoch 1
    # stops the run after epoch 7. With epochs= set by the user, patience stays 3: after epoch 4.
    monkeypatch.setattr("nlptransfer.training.epochs.MIN_STEPS", 20)
    monkeypatch.setattr("nlptransfer.training.epochs.MIN_STALE_STEPS", 12)
    cfg = TrainConfig(epochs=epochs, batch_size=4, progress=False, seed=0, group_by_length=False)
    built = _fresh(tiny_models["bert"], 2, cfg)
    data = encode_texts(built.tokenizer, TEXTS, 32, [0, 1] * 4)
    scripted = iter([0.9] + [0.1] * 9)
    result = train_model(built.net, data, text_collator(built.tokenizer), config=cfg, learning_rate=1e-3,
                         accelerator=Accelerator(cpu=True), loss_fn=SummedCrossEntropy(), validation_set=data,
                         score_fn=lambda logits, labels: next(scripted), score_name="macro_f1")
    assert result.best_epoch == 1
    assert len(result.history) == (7 if epochs is None else 4)
    if epochs is None:
        out = capsys.readouterr().out
        assert "10 epochs, chosen from the data" in out
        assert "early stopping after 6 epochs without a better validation score" in out


def test_restoring_refuses_mismatched_keys():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2))
    state = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(RuntimeError, match="not kept"):
        _restore(net, {"0.weight": state["0.weight"]}, {"0.weight", "0.bias"})
    with pytest.raises(RuntimeError, match="unexpected"):
        _restore(net, {**state, "1.weight": state["0.weight"]}, {"0.weight", "0.bias"})
    _restore(net, state, {"0.weight", "0.bias"})  # the right keys load


def test_optimizer_groups_decay_and_head_rate(tiny_models):
    built = build_task_model(tiny_models["bert"], 2, "full", TrainConfig())
    groups = optimizer_groups(built.net, 1e-3, 5e-2, 0.01)
    by_id = {id(p): g for g in groups for p in g["params"]}
    for name, param in built.net.named_parameters():
        group = by_id[id(param)]
        assert group["weight_decay"] == (0.01 if param.ndim >= 2 else 0.0), name
        assert group["lr"] == (5e-2 if name.startswith("head.") else 1e-3), name
    assert sum(len(g["params"]) for g in groups) == len(list(built.net.parameters()))


def test_data_order_depends_on_seed_and_epoch(tiny_models):
    """The loop reseeds the order every epoch: epochs differ, every example comes once per epoch,
    and the same seed gives the same orders again."""
    def orders(seed):
        cfg = TrainConfig(epochs=3, batch_size=2, progress=False, seed=seed, early_stopping_patience=None)
        built = _fresh(tiny_models["bert"], 2, cfg)
        data = encode_texts(built.tokenizer, TEXTS, 32, list(range(2)) * 4)
        data.labels = list(range(8))  # each example's label is its index: the collate records the order
        seen, collate = [], text_collator(built.tokenizer)

        def recording(batch):
            seen.extend(item["labels"] for item in batch)
            return collate([{**item, "labels": 0} for item in batch])

        train_model(built.net, data, recording, config=cfg, learning_rate=1e-3, loss_fn=SummedCrossEntropy(),
                    accelerator=Accelerator(cpu=True))
        return [seen[i:i + 8] for i in range(0, 24, 8)]

    first = orders(1)
    assert all(sorted(epoch) == list(range(8)) for epoch in first)
    assert first[0] != first[1] != first[2]
    assert orders(1) == first and orders(2) != first

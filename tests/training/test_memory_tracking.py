"""Out-of-memory batch halving, gradient checkpointing, metrics.jsonl and the trackers."""
import json

import pytest
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from conftest import flat_parameters

from nlptransfer import TextClassifier, TrainConfig
from nlptransfer.data.batching import encode_texts, text_collator
from nlptransfer.models.task_model import build_task_model as build
from nlptransfer.training.loop import train_model
from nlptransfer.training.losses import SummedCrossEntropy

TEXTS = ["the film was great", "the hotel was awful", "a real joy", "waste of money", "superb service",
         "terrible dinner", "wonderful book", "broken laptop"]


def _fresh(model, cfg):
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    torch.manual_seed(0)
    built = build(model, 2, "full", cfg)
    for module in built.net.modules():  # no dropout: updates comparable exactly
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return built


class _OutOfMemoryInBackward(torch.autograd.Function):
    """Passes the loss through; its backward fails the way a too-large batch does on a GPU."""

    @staticmethod
    def forward(ctx, loss):
        return loss.clone()

    @staticmethod
    def backward(ctx, grad):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


class _FailingLoss(SummedCrossEntropy):
    """Fails micro-batches larger than ``limit``: in forward, or in backward from the ``nth`` such
    call on (after earlier micro-batches of the window have written their gradients)."""

    def __init__(self, limit, where="forward", nth=1):
        super().__init__()
        self.limit, self.where, self.nth, self.large = limit, where, nth, 0

    def __call__(self, logits, labels):
        if self.limit is None or len(labels) <= self.limit:
            return super().__call__(logits, labels)
        self.large += 1
        if self.where == "forward":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        loss = super().__call__(logits, labels)
        return _OutOfMemoryInBackward.apply(loss) if self.large >= self.nth else loss


@pytest.mark.parametrize("start,where,nth", [((8, 1), "forward", 1), ((4, 2), "backward", 2)],
                         ids=["forward-first-batch", "backward-second-micro-batch"])
def test_out_of_memory_halves_the_batch_and_keeps_the_update(start, where, nth, tiny_models, capsys, plain_sgd):
    def train(batch_size, accumulate, loss_fn):
        cfg = TrainConfig(epochs=1, batch_size=batch_size, gradient_accumulation_steps=accumulate, warmup_ratio=0.0,
                          group_by_length=False, progress=False, seed=0, early_stopping_patience=None,
                          max_grad_norm=1e9)  # clipping would hide a wrongly scaled gradient
        built = _fresh(tiny_models["bert"], cfg)
        before = flat_parameters(built.net)
        data = encode_texts(built.tokenizer, TEXTS, 32, [0, 1] * 4)
        result = train_model(built.net, data, text_collator(built.tokenizer), config=cfg, learning_rate=1e-2,
                             accelerator=Accelerator(gradient_accumulation_steps=accumulate, cpu=True), loss_fn=loss_fn)
        return flat_parameters(built.net) - before, result

    reference, _ = train(2, 4, SummedCrossEntropy())
    failing = _FailingLoss(limit=2, where=where, nth=nth)
    halved, result = train(*start, failing)
    assert failing.large >= nth  # it did fail
    assert "retrying with batch_size=2, gradient_accumulation_steps=4" in capsys.readouterr().out
    assert result.optimizer_steps == 1 and reference.abs().max() > 1e-4
    # the retried step equals the reference: no gradient of the failed attempt is left over
    torch.testing.assert_close(halved, reference, rtol=1e-3, atol=1e-8)


def test_out_of_memory_is_raised_when_asked(tiny_models):
    cfg_off = TrainConfig(epochs=1, batch_size=8, auto_batch_size=False, progress=False)
    built = _fresh(tiny_models["bert"], cfg_off)
    data = encode_texts(built.tokenizer, TEXTS, 32, [0, 1] * 4)
    with pytest.raises(torch.OutOfMemoryError):  # the option off: the error is the user's to see
        train_model(built.net, data, text_collator(built.tokenizer), config=cfg_off, learning_rate=1e-2,
                    accelerator=Accelerator(cpu=True), loss_fn=_FailingLoss(limit=2))


@pytest.mark.parametrize("family,strategy", [("bert", "full"), ("llama", "lora")])
def test_gradient_checkpointing_gives_the_same_gradients(tiny_models, family, strategy):
    grads = []
    for checkpointing in (False, True):
        cfg = TrainConfig(gradient_checkpointing=checkpointing)
        AcceleratorState._reset_state(reset_partial_state=True)
        torch.manual_seed(0)
        built = build(tiny_models[family], 2, strategy, cfg)
        base = built.net.backbone.get_base_model() if strategy == "lora" else built.net.backbone
        assert base.is_gradient_checkpointing is checkpointing
        built.net.train()
        for module in built.net.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        batch = text_collator(built.tokenizer)([{"input_ids": ids} for ids in
                                                 built.tokenizer(TEXTS[:4])["input_ids"]])
        torch.nn.functional.cross_entropy(built.net(**batch), torch.tensor([0, 1, 0, 1])).backward()
        grads.append(torch.cat([p.grad.flatten() for p in built.net.parameters() if p.requires_grad]))
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-6)


def test_metrics_jsonl_tensorboard_and_mlflow(tiny_models, assets, tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("mlflow")
    out = tmp_path / "run"
    cfg = TrainConfig(epochs=2, batch_size=4, max_length=32, progress=False, logging_steps=2,
                      report_to="tensorboard,mlflow")
    clf = TextClassifier(tiny_models["bert"], "sentiment", "full", training=cfg, output_dir=str(out))
    clf.fit(assets / "sentiment_train.csv", assets / "sentiment_validation.csv")
    clf.save(out)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "loss" in r]
    epochs = [r for r in rows if "train_loss" in r]
    assert [r["step"] for r in steps] == list(range(2, 25, 2))  # 12 steps an epoch, a row every 2
    assert [r["epoch"] for r in epochs] == [1, 2] and all("validation_score" in r for r in epochs)
    assert steps[0]["learning_rate"] > 0 and steps[-1]["learning_rate"] < steps[5]["learning_rate"]  # warmup, decay
    events = list(out.rglob("events.out.tfevents.*"))
    assert events, sorted(p.name for p in out.iterdir())
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    assert len(acc.Scalars("train/loss")) == 12
    logged = list((out / "mlruns").rglob("metrics/train/loss"))  # the MLflow file store: one file per metric
    assert logged and len(logged[0].read_text().splitlines()) == 12, sorted(map(str, (out / "mlruns").rglob("*")))


def test_unknown_tracker_is_a_clear_error():
    from nlptransfer.errors import ConfigError
    from nlptransfer.training.processes import make_accelerator

    with pytest.raises(ConfigError, match="unknown tracker 'wandb'"):
        make_accelerator(TrainConfig(report_to="wandb"))

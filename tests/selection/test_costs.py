"""The cost model: the forward-backward grows with the padded length, the optimizer update does not."""
import pytest
from accelerate import Accelerator
from transformers import AutoTokenizer

from nlptransfer import TrainConfig
from nlptransfer.selection import costs

PASS_S, UPDATE_S, SCALE = 1.0, 0.25, 2.0


@pytest.fixture
def fixed_clock(monkeypatch):
    """Each timed function takes a known time: the training pass, the update, and forward-only 0."""
    seconds = {"forward_backward": PASS_S, "step": UPDATE_S}
    monkeypatch.setattr(costs, "_timed", lambda fn, device: seconds.get(getattr(fn, "__name__", ""), 0.0))


@pytest.mark.parametrize("strategy, texts_per_step", [("full", 1), ("contrastive", 2)])
def test_only_the_pass_is_scaled_by_length_and_the_update_counts_once_a_step(strategy, texts_per_step,
                                                                               fixed_clock, tiny_models):
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["bert"])
    batch = dict(tokenizer(["a short text"] * 16, return_tensors="pt"))
    cost = costs.measure_cost(tiny_models["bert"], strategy, 2, batch, n_train=160, n_validation=40,
                              config=TrainConfig(progress=False), accelerator=Accelerator(cpu=True),
                              length_scale=SCALE)
    # a pair batch holds twice the texts of a text batch, and either takes one update
    assert cost.seconds == pytest.approx(cost.steps * (texts_per_step * SCALE * PASS_S + UPDATE_S))
    assert cost.steps > 0 and cost.step_seconds == pytest.approx(SCALE * PASS_S + UPDATE_S)


def test_gradual_is_priced_with_its_unfreezing_on_top(fixed_clock, tiny_models):
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["bert"])
    batch = dict(tokenizer(["a short text"] * 16, return_tensors="pt"))
    steps = {name: costs.measure_cost(tiny_models["bert"], name, 2, batch, n_train=160, n_validation=40,
                                      config=TrainConfig(progress=False), accelerator=Accelerator(cpu=True)).steps
             for name in ("full", "gradual")}
    # 10 steps an epoch; full: 500 steps (50 epochs); gradual adds 3 groups (2 blocks and the
    # embeddings) joining one per epoch: 530 steps (53 epochs)
    assert steps == {"full": 500, "gradual": 530}

"""The task model: pooling, and decoders padded with eos without padding leaking into features."""
import pytest
import torch

from nlptransfer.models.pretrained import load_backbone, load_tokenizer, model_architecture
from nlptransfer.models.task_model import pool


def test_last_pooling_ignores_padding_on_either_side():
    hidden = torch.arange(2 * 4 * 1, dtype=torch.float32).reshape(2, 4, 1)
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert pool(hidden, right, "last").flatten().tolist() == [1.0, 7.0]
    assert pool(hidden, left, "last").flatten().tolist() == [3.0, 7.0]
    assert pool(hidden, right, "mean").flatten().tolist() == [0.5, 5.5]


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_decoders_get_pad_eos_synced_and_right_results(family, tiny_models):
    _, arch = model_architecture(tiny_models[family])
    tok = load_tokenizer(tiny_models[family], arch)
    backbone = load_backbone(tiny_models[family], arch, tok.pad_token_id)
    assert arch.decoder and arch.pooling == "last"
    assert tok.pad_token == tok.eos_token and backbone.config.pad_token_id == tok.eos_token_id
    # A padded batch pools the same vector as the text alone: padding never leaks into features.
    from nlptransfer.models.task_model import TaskModel

    net = TaskModel(backbone, 2, "last").eval()
    batch = tok(["the film was great", "bad"], padding=True, return_tensors="pt")
    alone = tok(["bad"], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(net.features(batch["input_ids"], batch["attention_mask"])[1],
                                   net.features(alone["input_ids"], alone["attention_mask"])[0], atol=1e-5, rtol=1e-5)

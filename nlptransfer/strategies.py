"""Strategies decide which weights train. One registry row each: its name, default learning
rate, what trains, and how the loop treats it. A new strategy is a row here plus its function.

    full         everything trains
    frozen       the head only, on backbone features computed once per example and cached
    lora         LoRA matrices (peft, on the backbone only) and the head
    partial      the top blocks and the head; the embeddings and the bottom ``freeze_layers`` frozen
    gradual      the head first, then one more block per stage from the top down (ULMFiT)
    scratch      everything, from random weights: the baseline that shows what pretraining adds
    contrastive  the backbone as a sentence encoder on same/different-label text pairs, then the
                 head on its embeddings (SetFit's recipe); for few labels
    classic      no transformer: TF-IDF n-grams (NER: word features) + logistic regression, the
                 baseline every compare trains, and what ``strategy="auto"`` keeps when it wins

``strategy="auto"`` (``AUTO``) is no row: it ranks the rows with ``recommend``, trains the best
candidates and the classic model, and keeps the best on validation (estimators/auto.py).

Each function works on a ``TaskModel``-like module (``backbone`` and ``classifier_head``) and
reports what trains the way PEFT does. Nothing here imports torch at load time: the registry is
read by the configuration and the command line before any model exists.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

from .errors import ConfigError

__all__ = ["Strategy", "STRATEGIES", "AUTO", "NEURAL", "row_strategy", "base_strategy", "without_last_technique",
           "strategy", "default_learning_rate", "ParameterCount", "count_parameters", "merge_adapter"]


def _train_everything(net, arch, config) -> None:
    net.requires_grad_(True)


def _train_head_only(net, arch, config) -> None:
    net.requires_grad_(False)
    net.classifier_head.requires_grad_(True)


def _freeze_bottom_layers(net, arch, config) -> None:
    """partial: the embeddings and the bottom k blocks frozen, the rest and the head trained. Their
    outputs then need no gradient, so autograd keeps no activations for them."""
    from .layer_map import layer_map

    layers = layer_map(net)
    n = layers.n_blocks
    k = config.freeze_layers if config.freeze_layers is not None else n // 2
    frozen = n + k if k < 0 else k
    if not 0 <= frozen <= n:
        raise ConfigError(f"freeze_layers={k}: this model has {n} blocks; use 0 to {n} (frozen from the bottom) or "
                          f"-1 to -{n} (trained from the top).")
    for name, param in net.named_parameters():
        depth = layers.depth[name]
        param.requires_grad_(depth is None or depth > frozen)


def _no_network(net, arch, config) -> None:
    raise ConfigError("strategy=classic trains no network, so these steps do not apply: fit it with "
                      "TextClassifier / EntityTagger or nlptransfer train.")


def _wrap_backbone_with_lora(net, arch, config) -> None:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
        target_modules=list(arch.lora_targets) if isinstance(arch.lora_targets, tuple) else arch.lora_targets,
        fan_in_fan_out=arch.fan_in_fan_out, bias="none",
    )
    # Only the backbone is given to peft: the head stays a plain, trainable module of ours, so it
    # is always trained and saved (peft #310, #577, #1070) and "all-linear" can never wrap it.
    with warnings.catch_warnings():  # peft calls a transformers API deprecated in v5
        warnings.simplefilter("ignore", FutureWarning)
        net.backbone = get_peft_model(net.backbone, lora)
    net.classifier_head.requires_grad_(True)


@dataclass(frozen=True)
class Strategy:
    """name: what users pass as ``strategy=``.
    learning_rate: the default when ``learning_rate=`` is not given.
    trains: what trains, in words (``nlptransfer options`` and the README show it).
    apply: ``(net, arch, config)`` sets ``requires_grad`` (and may wrap the backbone).
    pretrained: False builds the architecture with fresh random weights.
    caches_features: the backbone never trains, so its features are computed once per example
        and only the head trains on them.
    trains_on_pairs: the backbone first trains on text pairs, then the head on its features.
    head: for those two, the head's default: "sklearn" (LogisticRegression) or "linear".
    classification_only: not for token classification (NER).
    neural: False for the classic model (no checkpoint, no network); a compare trains it on its own.
    gradual: parameters join the training from the top down (training/unfreezing.py).
    unit_features: the head reads L2-normalised features. Sentence encoders are trained on cosine
        similarity, so the direction carries what they learned and the norm is noise to the head:
        on SMS Spam, contrastive at 8 texts per class gained 6 to 13 points of spam F1 (every
        seed), frozen on 800 texts 0.867 -> 0.914 (BENCHMARKS.md, "Why small data lost").
    """

    name: str
    learning_rate: float
    trains: str
    apply: Callable
    pretrained: bool = True
    caches_features: bool = False
    trains_on_pairs: bool = False
    head: str = "sklearn"
    classification_only: bool = False
    unit_features: bool = False
    neural: bool = True
    gradual: bool = False


STRATEGIES: dict[str, Strategy] = {
    "full": Strategy("full", 3e-5, "everything", _train_everything),
    # a linear head on cached features tolerates (and needs) a much larger step
    "frozen": Strategy("frozen", 1e-2, "the head only, on cached features", _train_head_only, caches_features=True,
                       unit_features=True),
    "lora": Strategy("lora", 5e-4, "LoRA matrices + head", _wrap_backbone_with_lora),
    "partial": Strategy("partial", 3e-5, "the top blocks + head (embeddings and the bottom freeze_layers frozen)",
                        _freeze_bottom_layers),
    # full's rate, so that a compare isolates what the unfreezing order adds
    "gradual": Strategy("gradual", 3e-5, "the head first, then one more block per epoch from the top down (ULMFiT)",
                        _train_everything, gradual=True),
    # random weights need larger steps than pretrained ones
    "scratch": Strategy("scratch", 1e-4, "everything, from random weights", _train_everything, pretrained=False),
    # SetFit's body learning rate: the pairs move the encoder gently
    "contrastive": Strategy("contrastive", 2e-5, "the backbone on text pairs, then the head on its embeddings",
                            _train_everything, trains_on_pairs=True, classification_only=True,
                            unit_features=True),
    "classic": Strategy("classic", 0.0, "no transformer: TF-IDF word and character n-grams (NER: word features) "
                        "+ logistic regression", _no_network, pretrained=False, neural=False),
}
AUTO = "auto"
NEURAL = tuple(name for name, s in STRATEGIES.items() if s.neural)  # what a compare grid trains per checkpoint


def row_strategy(strategy: str, adapt: str = "none", augment: str = "none") -> str:
    """A compare row's name: the strategy, then ``+adapt`` (adapt=task) and ``+eda``/``+mention``
    (augment=), so ``full+adapt+eda``. ``base_strategy`` and ``without_last_technique`` undo it."""
    return strategy + ("+adapt" if adapt == "task" else "") + (f"+{augment}" if augment != "none" else "")


def base_strategy(row: str) -> str:
    return row.split("+")[0]


def without_last_technique(row: str) -> str:
    """What a row's last technique is measured against: ``full+adapt+eda`` against ``full+adapt``."""
    return row.rsplit("+", 1)[0]


def strategy(name: str) -> Strategy:
    if name not in STRATEGIES:
        raise ConfigError(f"strategy must be one of {', '.join(STRATEGIES)}; got {name!r}.")
    return STRATEGIES[name]


def default_learning_rate(name: str, config) -> float:
    return config.learning_rate if config.learning_rate is not None else strategy(name).learning_rate


@dataclass(frozen=True)
class ParameterCount:
    trainable: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.trainable / max(self.total, 1)

    def __str__(self):  # the line PEFT prints, so users can compare
        return f"trainable params: {self.trainable:,d} || all params: {self.total:,d} || trainable%: {self.percent:.4f}"


def count_parameters(model) -> ParameterCount:
    params = list(model.parameters())
    return ParameterCount(sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params))


def merge_adapter(net) -> None:
    """Fold a LoRA adapter into the backbone weights (for export); no-op without one."""
    if hasattr(net.backbone, "merge_and_unload"):
        net.backbone = net.backbone.merge_and_unload()

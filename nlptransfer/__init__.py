"""nlptransfer: transfer learning for NLP tasks on pretrained transformers.

    from nlptransfer import TextClassifier, load
    clf = TextClassifier(model="minilm-l6", task="spam", strategy="lora").fit("train.csv", "validation.csv")
"""
from .config import ConfigError, RunConfig, TrainConfig
from .data import DataError

__all__ = ["TextClassifier", "EntityTagger", "compare", "TrainConfig", "RunConfig", "load", "DataError", "ConfigError",
           "ModelLoadError"]
__version__ = "0.1.0"

# Imported on first use (PEP 562): torch and transformers take seconds to import, and the CLI's
# report command and the classic baselines of a compare need neither.
_LAZY = {"TextClassifier": "classifier", "EntityTagger": "tagger", "compare": "comparison",
         "ModelLoadError": "checkpoints"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load(path):
    """Load any model saved by nlptransfer's ``save`` (the folder's nlptransfer.json says which kind)."""
    from .persistence import read_metadata

    kind = read_metadata(path)["kind"]
    if kind == "text-classifier":
        from .classifier import TextClassifier

        return TextClassifier._from_folder(path)
    if kind == "entity-tagger":
        from .tagger import EntityTagger

        return EntityTagger._from_folder(path)
    raise ValueError(f"{path}: unknown model kind {kind!r}")

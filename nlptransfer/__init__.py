"""nlptransfer: transfer learning for NLP tasks on pretrained transformers.

    from nlptransfer import TextClassifier, load
    clf = TextClassifier(model="minilm-l6", task="spam", strategy="lora").fit("train.csv", "validation.csv")
"""
from .checkpoints import ModelLoadError
from .classifier import TextClassifier
from .config import ConfigError, RunConfig, TrainConfig
from .data import DataError
from .tagger import EntityTagger

__all__ = ["TextClassifier", "EntityTagger", "TrainConfig", "RunConfig", "load", "DataError", "ConfigError", "ModelLoadError"]
__version__ = "0.1.0"


def load(path):
    """Load any model saved by nlptransfer's ``save`` (the folder's nlptransfer.json says which kind)."""
    from .persistence import read_metadata

    kind = read_metadata(path)["kind"]
    if kind == "text-classifier":
        return TextClassifier._from_folder(path)
    if kind == "entity-tagger":
        return EntityTagger._from_folder(path)
    raise ValueError(f"{path}: unknown model kind {kind!r}")

"""nlptransfer: transfer learning for NLP tasks on pretrained transformers.

    from nlptransfer import TextClassifier, load
    clf = TextClassifier(model="minilm-l6", task="spam", strategy="lora").fit("train.csv", "validation.csv")
"""
from .config import RunConfig, TrainConfig, config_from_command_line, load_run_config
from .errors import ConfigError, DataError, ModelLoadError, exit_on_user_error

__all__ = ["TextClassifier", "EntityTagger", "MultiTaskModel", "compare", "recommend", "adapt", "TrainConfig", "RunConfig", "load_run_config", "load",
           "config_from_command_line", "exit_on_user_error", "DataError", "ConfigError", "ModelLoadError"]
__version__ = "0.1.0"

# Imported on first use (PEP 562): torch and transformers take seconds to import, and the CLI's
# report command and the classic baselines of a compare need neither.
_LAZY = {"TextClassifier": "estimators.text_classifier", "EntityTagger": "estimators.entity_tagger",
         "MultiTaskModel": "estimators.multi_task",
         "compare": "comparison.grid", "recommend": "selection.recommend", "load": "estimators.fitted",
         "adapt": "training.adaptation"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

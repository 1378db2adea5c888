"""Metrics from the Hugging Face ``evaluate`` library, on top of the built-in harness.

The built-in metrics call scikit-learn and seqeval directly: they work offline (``evaluate.load``
of a hub metric downloads its script) and pin seqeval's strict IOB2 mode, which the hub's
``seqeval`` metric leaves to a keyword that is easy to forget. ``extra_metrics`` lets a user add
any ``evaluate`` module (a hub id when online, a local metric script or folder offline, or an
already loaded module); its results join the report as ``<module name>/<key>``.
"""
from __future__ import annotations

from ..errors import ConfigError

__all__ = ["compute_extra_metrics"]


def _module(metric):
    if not isinstance(metric, str):
        return metric
    import evaluate

    try:
        return evaluate.load(metric)
    except Exception as error:  # evaluate raises a different type per failure (network, script, name)
        raise ConfigError(f"extra metric {metric!r} could not be loaded ({type(error).__name__}: {error}). Give a "
                          f"hub id (needs network) or the path of a local metric script or folder.") from None


def compute_extra_metrics(metrics, predictions, references) -> dict:
    """``{name/key: value}`` of each module's ``compute(predictions=..., references=...)``.
    Classification passes class indices (the ``evaluate`` convention), NER lists of IOB2 tags."""
    out = {}
    for metric in metrics or ():
        module = _module(metric)
        name = getattr(module, "name", None) or type(module).__name__
        try:
            result = module.compute(predictions=predictions, references=references)
        except (ValueError, TypeError, KeyError) as error:  # inputs of the wrong shape or type for this metric
            kind = "class indices" if predictions and isinstance(predictions[0], int) else "lists of IOB2 tags"
            raise ConfigError(f"extra metric {name!r} failed on {kind} ({type(error).__name__}: {error}).") from None
        for key, value in (result or {}).items():
            out[f"{name}/{key}"] = value.item() if hasattr(value, "item") else value
    return out

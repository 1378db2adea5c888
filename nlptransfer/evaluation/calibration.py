"""Calibration: expected calibration error, reliability bins, temperature scaling.

A model whose confidence is 0.9 should be right 9 times in 10. ECE measures the gap (top-label
confidence, equal-width bins, as Guo et al. 2017); temperature scaling divides the logits by one
scalar fitted on validation, which fixes most of it without changing any decision of argmax.
"""
from __future__ import annotations

import numpy as np

__all__ = ["reliability", "fit_temperature", "apply_temperature"]


def reliability(proba: np.ndarray, true_index: np.ndarray, bins: int = 15) -> dict:
    """ECE and the reliability diagram's bins (only non-empty ones) of ``proba`` (n, classes)."""
    proba, true_index = np.asarray(proba, dtype=float), np.asarray(true_index)
    confidence = proba.max(1)
    correct = proba.argmax(1) == true_index
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        conf, acc = float(confidence[mask].mean()), float(correct[mask].mean())
        ece += mask.mean() * abs(acc - conf)
        rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": int(mask.sum()),
                     "confidence": conf, "accuracy": acc})
    return {"ece": float(ece), "bins": rows}


def fit_temperature(proba: np.ndarray, true_index: np.ndarray) -> float:
    """The temperature T minimising the negative log-likelihood of softmax(log(proba) / T).

    Works from probabilities: log-probabilities differ from the logits by one constant per row,
    which softmax ignores. One parameter, convex in log T: a bounded scalar search is exact enough.
    """
    from scipy.optimize import minimize_scalar

    logp = np.log(np.clip(np.asarray(proba, dtype=float), 1e-12, 1.0))
    true_index = np.asarray(true_index)

    def nll(log_t: float) -> float:
        z = logp / np.exp(log_t)
        z -= z.max(1, keepdims=True)
        return float(-(z[np.arange(len(z)), true_index] - np.log(np.exp(z).sum(1))).mean())

    return float(np.exp(minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded").x))


def apply_temperature(proba: np.ndarray, temperature: float | None) -> np.ndarray:
    if temperature is None or temperature == 1.0:
        return proba
    z = np.log(np.clip(proba, 1e-12, 1.0)) / temperature
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)

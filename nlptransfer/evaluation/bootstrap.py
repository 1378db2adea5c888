"""Bootstrap confidence intervals over test examples, and the transfer-gain verdict.

Every metric here is a function of per-example counts summed over the test set (correct, true
positives, predicted and gold counts per class; for NER per sentence). A bootstrap resample is a
vector of how often each example is drawn, so all resamples are one matrix product: thousands of
resamples cost milliseconds. Comparisons are paired: both systems are scored on the same resamples.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Scorer", "classification_scorer", "entity_scorer", "resample_counts", "interval", "paired_gain",
           "verdict", "entity_spans"]

N_BOOT = 2000
LEVEL = 0.95


@dataclass
class Scorer:
    """Per-example additive statistics and the metric computed from their sums."""

    stats: np.ndarray  # (n_examples, n_stats)
    metric: object  # (..., n_stats) sums -> (...) scores

    def score(self, counts: np.ndarray | None = None) -> np.ndarray | float:
        """The metric on the test set (``counts`` None) or on each resample (rows of ``counts``)."""
        if counts is None:
            return float(self.metric(self.stats.sum(0)))
        return self.metric(counts @ self.stats)


def _f1(tp, pred, gold):
    return np.where(pred + gold > 0, 2 * tp / np.maximum(pred + gold, 1e-12), 0.0)


def classification_scorer(true_index, pred_index, n_classes: int, metric: str,
                          positive_index: int | None = None) -> Scorer:
    """``metric``: accuracy, macro_f1 or positive_f1 (the F1 of ``positive_index``)."""
    y, p = np.asarray(true_index), np.asarray(pred_index)
    k = n_classes
    onehot_y, onehot_p = np.eye(k)[y], np.eye(k)[p]
    stats = np.hstack([(y == p)[:, None], onehot_y * onehot_p, onehot_p, onehot_y, np.ones((len(y), 1))])

    def per_class(s):
        return _f1(s[..., 1:1 + k], s[..., 1 + k:1 + 2 * k], s[..., 1 + 2 * k:1 + 3 * k])

    if metric == "accuracy":
        return Scorer(stats, lambda s: s[..., 0] / np.maximum(s[..., -1], 1e-12))
    if metric == "macro_f1":
        return Scorer(stats, lambda s: per_class(s).mean(-1))
    if metric == "positive_f1":
        return Scorer(stats, lambda s: per_class(s)[..., positive_index])
    raise ValueError(f"unknown metric {metric!r}")


def entity_spans(tags: list[str]) -> set[tuple[str, int, int]]:
    """Strict IOB2 entities as (type, start, end): B-X starts one, I-X of the same type continues
    it, anything else ends it (an I-X that continues nothing is no entity, as seqeval strict)."""
    spans, kind, start = set(), None, 0
    for i, tag in enumerate([*tags, "O"]):
        if kind is not None and tag != f"I-{kind}":
            spans.add((kind, start, i))
            kind = None
        if tag.startswith("B-"):
            kind, start = tag[2:], i
    return spans


def entity_scorer(true_tags: list[list[str]], pred_tags: list[list[str]]) -> Scorer:
    """Micro entity F1 (strict IOB2) from per-sentence true-positive, predicted and gold counts."""
    rows = []
    for t, p in zip(true_tags, pred_tags):
        gold, pred = entity_spans(t), entity_spans(p)
        rows.append((len(gold & pred), len(pred), len(gold)))
    return Scorer(np.asarray(rows, dtype=float).reshape(-1, 3), lambda s: _f1(s[..., 0], s[..., 1], s[..., 2]))


def resample_counts(n: int, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """(n_boot, n): how often each of n examples is drawn in each resample (with replacement)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)


def interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval."""
    tail = (1 - level) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def paired_gain(a: list[Scorer], b: list[Scorer], counts: np.ndarray) -> dict:
    """Mean-over-seeds metric of ``a`` minus that of ``b``: the point estimate, its bootstrap
    interval over test examples (same resamples for both), and the seeds' spread of each side."""
    score_a = np.mean([s.score(counts) for s in a], axis=0)
    score_b = np.mean([s.score(counts) for s in b], axis=0)
    point_a, point_b = [s.score() for s in a], [s.score() for s in b]
    low, high = interval(score_a - score_b)
    return {"gain": float(np.mean(point_a) - np.mean(point_b)), "ci_low": low, "ci_high": high,
            "seed_std": float(np.std(point_a, ddof=1)) if len(point_a) > 1 else None,  # None: one seed, no spread
            "reference_seed_std": float(np.std(point_b, ddof=1)) if len(point_b) > 1 else None}


def verdict(gain: dict, reference: str = "scratch") -> str:
    """helped: the whole interval above zero; else no clear gain, or when the whole interval is
    below zero: negative transfer against the same model trained from scratch (the term's meaning
    in the literature), "below the classic baseline" against TF-IDF or the feature tagger, "worse
    than full" against another strategy."""
    if gain["ci_low"] > 0:
        return "helped"
    if gain["ci_high"] < 0:
        return {"scratch": "negative transfer", "classic": "below the classic baseline"}.get(reference,
                                                                                              f"worse than {reference}")
    return "no clear gain"

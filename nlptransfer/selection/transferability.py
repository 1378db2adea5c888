"""Transferability estimates: how well a frozen backbone's features fit the labels, before training.

Each takes features (n, d) and integer labels (n,) and returns a number where higher is better:

    logme       LogME (You et al., ICML 2021): the log evidence of a Bayesian linear model of the
                one-hot labels on the features, per example, averaged over classes
    h_score     H-score (Bao et al., 2019) with shrinkage covariance (Ibrahim et al., ICLR 2022):
                between-class variance of the features, in units of their total covariance
    knn         cross-validated accuracy of a k-nearest-neighbour classifier (cosine)
    probe       cross-validated score of a logistic-regression probe, in the task's metric

Written here because no maintained package offers LogME or the regularised H-score as a library
call (transformer-ranker has them inside its ranking tool, with its own data loading); the
formulas are the papers' and each is tested against a hand-computed case.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["logme", "h_score", "knn_score", "probe_score"]


def logme(features: np.ndarray, labels: np.ndarray) -> float:
    """Mean over classes of the per-example log evidence of a Bayesian linear model of the class
    indicator, with the prior precision alpha and noise precision beta that maximise it."""
    f = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    return float(np.mean([_class_evidence(f, (labels == c).astype(np.float64))[0] for c in np.unique(labels)]))


def _class_evidence(f: np.ndarray, y: np.ndarray, iterations: int = 50) -> tuple[float, float, float]:
    """(log evidence / n, alpha, beta) by the paper's fixed-point updates, in the SVD basis of the
    features so that each iteration costs O(min(n, d))."""
    n, d = f.shape
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    s2 = s ** 2
    z2 = (u.T @ y) ** 2
    outside = max(float(y @ y - z2.sum()), 0.0)  # the part of y no feature direction spans
    alpha, beta = 1.0, 1.0
    for _ in range(iterations):
        t = alpha / beta
        gamma = float((s2 / (s2 + t)).sum())
        m2 = float((s2 * z2 / (s2 + t) ** 2).sum())  # |posterior mean of the weights|^2
        res2 = float((z2 * (t / (s2 + t)) ** 2).sum()) + outside  # |residual|^2
        alpha, beta = gamma / (m2 + 1e-5), (n - gamma) / (res2 + 1e-5)
        if abs(alpha / beta - t) / t < 1e-6:
            break
    t = alpha / beta  # the evidence at the final alpha, beta
    m2 = float((s2 * z2 / (s2 + t) ** 2).sum())
    res2 = float((z2 * (t / (s2 + t)) ** 2).sum()) + outside
    log_det = float(np.log(alpha + beta * s2).sum()) + (d - len(s2)) * np.log(alpha)
    evidence = (d / 2 * np.log(alpha) + n / 2 * np.log(beta) - alpha / 2 * m2 - beta / 2 * res2 - log_det / 2
                - n / 2 * np.log(2 * np.pi))
    return evidence / n, alpha, beta


def h_score(features: np.ndarray, labels: np.ndarray) -> float:
    """tr(cov(f)^-1 cov(E[f | y])), with the Ledoit-Wolf shrunk covariance so that it stays
    defined when d > n (the raw H-score is dominated by noise in that regime)."""
    from sklearn.covariance import LedoitWolf

    f = np.asarray(features, dtype=np.float64)
    f = f - f.mean(0)
    labels = np.asarray(labels)
    covariance = LedoitWolf(assume_centered=True).fit(f).covariance_
    class_means = np.zeros_like(f)
    for c in np.unique(labels):
        class_means[labels == c] = f[labels == c].mean(0)
    between = class_means.T @ class_means / len(f)
    return float(np.trace(np.linalg.solve(covariance, between)))


def _folds(labels: np.ndarray, k: int = 3) -> int:
    """Stratified folds: at most ``k``, at least 2, never more than the smallest class allows."""
    return max(2, min(k, int(np.bincount(np.unique(labels, return_inverse=True)[1]).min())))


def knn_score(features: np.ndarray, labels: np.ndarray, neighbours: int = 5, seed: int = 0) -> float:
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    labels = np.asarray(labels)
    k = min(neighbours, max(1, len(labels) // 4))
    folds = StratifiedKFold(_folds(labels), shuffle=True, random_state=seed)
    return float(cross_val_score(KNeighborsClassifier(k, metric="cosine"), features, labels, cv=folds).mean())


def probe_score(features: np.ndarray, labels: np.ndarray, score: Callable[[np.ndarray, np.ndarray], float],
                balanced: bool = False, seed: int = 0) -> tuple[float, float]:
    """Mean and spread over stratified folds of ``score(truth, predicted)`` for a logistic
    regression on standardised features: what the frozen strategy's head reaches."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labels = np.asarray(labels)
    scores = []
    for fit_rows, held_rows in StratifiedKFold(_folds(labels), shuffle=True, random_state=seed).split(features, labels):
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000, random_state=seed,
                                                                   class_weight="balanced" if balanced else None))
        probe.fit(features[fit_rows], labels[fit_rows])
        scores.append(score(labels[held_rows], probe.predict(features[held_rows])))
    return float(np.mean(scores)), float(np.std(scores))

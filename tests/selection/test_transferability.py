"""The transferability estimates against hand computations and a case of known separability."""
import numpy as np
from scipy.stats import multivariate_normal
from sklearn.metrics import accuracy_score

from nlptransfer.selection.transferability import _class_evidence, h_score, knn_score, logme, probe_score


def _features(separation: float, n: int = 120, d: int = 8, seed: int = 0):
    """Two classes whose means differ by ``separation`` along the first axis, unit noise."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n // 2)
    x = rng.normal(size=(n, d))
    x[:, 0] += separation * labels
    return x, labels


def test_logme_evidence_is_the_marginal_likelihood_at_its_maximum():
    """Computed independently: y ~ N(0, F F^T / alpha + I / beta) is the Bayesian linear model's
    marginal likelihood; ours must equal it at the alpha, beta it returns, and moving either
    away from them must lower it (they maximise the evidence)."""
    x, labels = _features(2.0, n=40, d=5)
    y = (labels == 1).astype(float)
    evidence, alpha, beta = _class_evidence(x, y)

    def direct(a, b):
        covariance = x @ x.T / a + np.eye(len(y)) / b
        return multivariate_normal(np.zeros(len(y)), covariance).logpdf(y) / len(y)

    assert abs(evidence - direct(alpha, beta)) < 1e-8
    for a, b in ((alpha * 1.5, beta), (alpha / 1.5, beta), (alpha, beta * 1.5), (alpha, beta / 1.5)):
        assert direct(a, b) < evidence


def test_h_score_in_one_dimension_is_between_over_total_variance():
    """With one feature, shrinkage does nothing and H = Var(E[f|y]) / Var(f): here by hand."""
    f = np.array([[0.0], [2.0], [4.0], [6.0]])
    labels = np.array([0, 0, 1, 1])
    centred = f[:, 0] - 3.0  # -3 -1 1 3
    total = np.mean(centred ** 2)  # 5
    between = np.mean(np.array([-2.0, -2.0, 2.0, 2.0]) ** 2)  # class means -2 and 2: 4
    assert abs(h_score(f, labels) - between / total) < 1e-9
    assert abs(h_score(f, labels) - 0.8) < 1e-9


def test_every_estimate_ranks_separable_features_above_noise():
    separable, labels = _features(3.0)
    noise, _ = _features(0.0, seed=1)
    accuracy = lambda truth, predicted: accuracy_score(truth, predicted)  # noqa: E731
    assert logme(separable, labels) > logme(noise, labels)
    assert h_score(separable, labels) > h_score(noise, labels) + 0.5
    assert knn_score(separable, labels) > 0.8 > 0.65 > knn_score(noise, labels)
    good, spread = probe_score(separable, labels, accuracy)
    bad, _ = probe_score(noise, labels, accuracy)
    assert good > 0.85 and bad < 0.7 and 0 <= spread < 0.2


def test_logme_orders_three_levels_of_separation():
    labels = _features(0.0)[1]
    scores = [logme(_features(s, seed=2)[0], labels) for s in (0.5, 1.5, 3.0)]
    assert scores[0] < scores[1] < scores[2]


def test_ner_probe_takes_the_recipe_it_is_given():
    """Single-word PER entities marked by the sign of one feature, rows scaled at random: with
    unit length the score ignores the scaling, and C decides whether anything is tagged."""
    from nlptransfer.selection.scoring import ner_probe

    rng = np.random.default_rng(0)
    lengths = [6] * 45
    x = rng.normal(size=(sum(lengths), 4))
    flat = np.where(x[:, 0] > 0.3, "B-PER", "O")
    tags = [list(t) for t in np.split(flat, np.cumsum(lengths)[:-1])]
    scaled = x * rng.uniform(0.05, 20.0, size=(len(x), 1))

    unit = ner_probe(lengths, tags, 0, c=10.0, unit_length=True)
    assert unit(scaled)[0] == unit(x)[0] > 0.8
    raw = ner_probe(lengths, tags, 0, c=10.0)
    assert raw(scaled)[0] != raw(x)[0]
    assert ner_probe(lengths, tags, 0, c=1e-6)(x)[0] < 0.1 < raw(x)[0]

"""Classic, non-neural baselines that a pretrained model has to beat.

Classification: TF-IDF (word 1-2-grams plus character 2-5-grams) into logistic regression, its
regularisation chosen on validation. NER: a feature-based tagger, logistic regression on each
word's spelling, shape, affixes and neighbours (the features of pre-neural CoNLL systems), decoded
to valid IOB2 as the neural tagger's predictions are. Both take the same data as the estimators
and give predictions the shared harness scores the same way.
"""
from __future__ import annotations

import numpy as np

from ..data.tag_schemes import lenient_iob2

__all__ = ["TfidfClassifier", "FeatureTagger"]

C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)


def _choose_c(make, fit_x, fit_y, val_x, val_y, score) -> float:
    if val_x is None:
        return 3.0
    return max(C_GRID, key=lambda c: score(val_y, make(c).fit(fit_x, fit_y).predict(val_x)))


class TfidfClassifier:
    """TF-IDF + LogisticRegression; ``balanced`` weights classes as the spam task does."""

    def __init__(self, balanced: bool = False, seed: int = 0):
        self.balanced, self.seed = balanced, seed

    def _model(self, c: float):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=c, max_iter=3000, class_weight="balanced" if self.balanced else None,
                                  random_state=self.seed)

    def fit(self, texts, labels, val_texts=None, val_labels=None) -> "TfidfClassifier":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.metrics import f1_score
        from sklearn.pipeline import make_union

        self.vectorizer_ = make_union(
            TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True))
        x = self.vectorizer_.fit_transform(texts)
        vx = self.vectorizer_.transform(val_texts) if val_texts is not None else None
        macro = lambda y, p: f1_score(y, p, average="macro", zero_division=0)  # noqa: E731
        self.c_ = _choose_c(self._model, x, labels, vx, val_labels, macro)
        self.model_ = self._model(self.c_).fit(x, labels)
        self.classes_ = [str(c) for c in self.model_.classes_]
        return self

    def predict_proba(self, texts) -> np.ndarray:
        return self.model_.predict_proba(self.vectorizer_.transform(texts))


def _shape(word: str) -> str:
    out = []
    for ch in word:
        kind = "X" if ch.isupper() else "x" if ch.islower() else "d" if ch.isdigit() else ch
        if not out or out[-1] != kind:
            out.append(kind)
    return "".join(out)


def _word_features(words: list[str], i: int) -> dict:
    w = words[i]
    feats = {"bias": 1.0, "w=" + w.lower(): 1.0, "shape=" + _shape(w): 1.0, "p3=" + w[:3].lower(): 1.0,
             "s3=" + w[-3:].lower(): 1.0, "s2=" + w[-2:].lower(): 1.0, "title": float(w.istitle()),
             "upper": float(w.isupper()), "digit": float(any(c.isdigit() for c in w)), "first": float(i == 0)}
    for off in (-2, -1, 1, 2):
        j = i + off
        n = words[j] if 0 <= j < len(words) else ("<s>" if j < 0 else "</s>")
        feats[f"w{off:+d}=" + n.lower()] = 1.0
        feats[f"t{off:+d}"] = float(n.istitle())
    return feats


class FeatureTagger:
    """Word-feature logistic regression tagger (CoNLL-era features), IOB2 in and out."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    def _model(self, c: float):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=c, max_iter=500, random_state=self.seed)

    def _x(self, sentences, fit: bool = False):
        rows = [_word_features(words, i) for words in sentences for i in range(len(words))]
        return self.vectorizer_.fit_transform(rows) if fit else self.vectorizer_.transform(rows)

    def fit(self, sentences, tags, val_sentences=None, val_tags=None) -> "FeatureTagger":
        from sklearn.feature_extraction import DictVectorizer

        from ..evaluation.bootstrap import entity_scorer

        self.vectorizer_ = DictVectorizer()
        x, y = self._x(sentences, fit=True), [t for s in tags for t in s]
        vx = self._x(val_sentences) if val_sentences is not None else None
        lengths = [len(s) for s in val_sentences] if val_sentences is not None else []

        def entity_f1(true_flat, pred_flat):
            pred = _split(list(pred_flat), lengths)
            return entity_scorer(val_tags, [lenient_iob2(p) for p in pred]).score()

        self.c_ = _choose_c(self._model, x, y, vx, None, lambda _, p: entity_f1(None, p))
        self.model_ = self._model(self.c_).fit(x, y)
        self.classes_ = [str(c) for c in self.model_.classes_]
        return self

    def predict_tags(self, sentences) -> list[list[str]]:
        flat = list(self.model_.predict(self._x(sentences))) if sentences else []
        return [lenient_iob2(tags) for tags in _split(flat, [len(s) for s in sentences])]


def _split(flat: list, lengths: list[int]) -> list[list]:
    out, i = [], 0
    for n in lengths:
        out.append(flat[i:i + n])
        i += n
    return out

"""Classic, non-neural models: the baselines a pretrained model has to beat, and the model
``strategy="auto"`` hands over when they win.

Classification: TF-IDF (word 1-2-grams plus character 2-5-grams) into logistic regression, its
regularisation chosen on validation. NER: a feature-based tagger, logistic regression on each
word's spelling, shape, affixes and neighbours (the features of pre-neural CoNLL systems), decoded
to valid IOB2 as the neural tagger's predictions are. Both take the same data as the estimators
and give predictions the shared harness scores the same way.

Saved as JSON (settings, vocabularies) plus safetensors (IDF weights, coefficients), not pickle:
loading a folder never runs code, as for the transformer weights. No torch here: a compare's
classic runs start in a second.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..data.tag_schemes import valid_tag_sequences

__all__ = ["TfidfClassifier", "FeatureTagger", "save_classic", "load_classic", "is_classic", "classic_parameters",
           "CLASSIC_FILES"]

CLASSIC_FILES = ("classic.json", "classic.safetensors")

C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)


def _choose_c(make, fit_x, fit_y, score=None) -> float:
    """The C of ``C_GRID`` whose fitted model ``score(model)`` rates best on validation (3.0 without)."""
    if score is None:
        return 3.0
    return max(C_GRID, key=lambda c: score(make(c).fit(fit_x, fit_y)))


class TfidfClassifier:
    """TF-IDF + LogisticRegression; ``balanced`` weights classes as the spam task does."""

    pooling, unit_features, backbone = None, False, None  # what a saved folder's metadata reads of a net

    def __init__(self, balanced: bool = False, seed: int = 0):
        self.balanced, self.seed = balanced, seed

    def _model(self, c: float):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=c, max_iter=3000, class_weight="balanced" if self.balanced else None,
                                  random_state=self.seed)

    @staticmethod
    def _vectorizer():
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_union

        return make_union(TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
                          TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True))

    def fit(self, texts, labels, val_texts=None, val_labels=None) -> "TfidfClassifier":
        from sklearn.metrics import f1_score

        self.vectorizer_ = self._vectorizer()
        x = self.vectorizer_.fit_transform(texts)
        vx = self.vectorizer_.transform(val_texts) if val_texts is not None else None
        macro = lambda model: f1_score(val_labels, model.predict(vx), average="macro", zero_division=0)  # noqa: E731
        self.c_ = _choose_c(self._model, x, labels, macro if vx is not None else None)
        self.model_ = self._model(self.c_).fit(x, labels)
        self.classes_ = [str(c) for c in self.model_.classes_]
        return self

    def predict_proba(self, texts, classes: list[str] | None = None) -> np.ndarray:
        """Probabilities per text, columns in ``classes`` order (default ``classes_``)."""
        proba = self.model_.predict_proba(self.vectorizer_.transform(texts))
        return proba if classes is None else proba[:, [self.classes_.index(c) for c in classes]]

    def _state(self) -> tuple[dict, dict]:
        parts = [v for _, v in self.vectorizer_.transformer_list]
        return ({"vocabularies": [{k: int(i) for k, i in v.vocabulary_.items()} for v in parts]},
                {f"idf_{i}": v.idf_ for i, v in enumerate(parts)})

    def _restore(self, info: dict, arrays: dict) -> None:
        self.vectorizer_ = self._vectorizer()
        for i, (_, part) in enumerate(self.vectorizer_.transformer_list):
            part.vocabulary_, part.idf_ = info["vocabularies"][i], arrays[f"idf_{i}"]


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

    pooling, unit_features, backbone = None, False, None

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

        from seqeval.metrics import f1_score
        from seqeval.scheme import IOB2

        self.vectorizer_ = DictVectorizer()
        x, y = self._x(sentences, fit=True), [t for s in tags for t in s]
        vx = self._x(val_sentences) if val_sentences is not None else None
        lengths = [len(s) for s in val_sentences] if val_sentences is not None else []

        def entity_f1(model) -> float:  # the harness's F1, on the tags predict_tags would give
            pred = valid_tag_sequences(_split(model.predict_log_proba(vx), lengths), [str(c) for c in model.classes_])
            return f1_score(val_tags, pred, mode="strict", scheme=IOB2)

        self.c_ = _choose_c(self._model, x, y, entity_f1 if vx is not None else None)
        self.model_ = self._model(self.c_).fit(x, y)
        self.classes_ = [str(c) for c in self.model_.classes_]
        return self

    def predict_tags(self, sentences) -> list[list[str]]:
        """The most probable valid IOB2 tags per sentence, as the transformer taggers decode."""
        return valid_tag_sequences(self.word_log_proba(sentences, self.classes_), self.classes_)

    def word_log_proba(self, sentences, classes: list[str]) -> list[np.ndarray]:
        """Per sentence a (words, classes) array of log-probabilities, columns in ``classes`` order."""
        if not sentences:
            return []
        flat = self.model_.predict_log_proba(self._x(sentences))[:, [self.classes_.index(c) for c in classes]]
        return _split(flat, [len(s) for s in sentences])

    def _state(self) -> tuple[dict, dict]:
        return {"features": list(self.vectorizer_.feature_names_)}, {}

    def _restore(self, info: dict, arrays: dict) -> None:
        from sklearn.feature_extraction import DictVectorizer

        self.vectorizer_ = DictVectorizer()
        self.vectorizer_.feature_names_ = info["features"]
        self.vectorizer_.vocabulary_ = {name: i for i, name in enumerate(info["features"])}


def _split(flat: list, lengths: list[int]) -> list[list]:
    out, i = [], 0
    for n in lengths:
        out.append(flat[i:i + n])
        i += n
    return out


KINDS = {"tfidf": TfidfClassifier, "word-features": FeatureTagger}


def is_classic(net) -> bool:
    return isinstance(net, tuple(KINDS.values()))


def classic_parameters(model) -> int:
    return int(model.model_.coef_.size + model.model_.intercept_.size)


def save_classic(model, folder: Path) -> None:
    """Write a fitted classic model's ``CLASSIC_FILES`` into ``folder``."""
    from safetensors.numpy import save_file

    info, arrays = model._state()
    kind = next(k for k, cls in KINDS.items() if isinstance(model, cls))
    info.update(kind=kind, c=model.c_, seed=model.seed, balanced=getattr(model, "balanced", False),
                classes=model.classes_)
    arrays.update(coef=model.model_.coef_, intercept=model.model_.intercept_)
    (folder / CLASSIC_FILES[0]).write_text(json.dumps(info))
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(folder / CLASSIC_FILES[1]))


def load_classic(folder: Path):
    """The classic model ``save_classic`` wrote, predicting exactly as it did."""
    from safetensors.numpy import load_file

    info = json.loads((folder / CLASSIC_FILES[0]).read_text())
    arrays = load_file(str(folder / CLASSIC_FILES[1]))
    model = KINDS[info["kind"]](seed=info["seed"])
    if info["kind"] == "tfidf":
        model.balanced = info["balanced"]
    model.c_, model.classes_ = info["c"], info["classes"]
    model._restore(info, arrays)
    model.model_ = model._model(info["c"])
    model.model_.coef_, model.model_.intercept_ = arrays["coef"], arrays["intercept"]
    model.model_.classes_ = np.asarray(info["classes"])
    return model

"""``EntityTagger``: named-entity recognition, one IOB2 tag per word, scikit-learn-like.

Decoders (GPT-2, Llama-style) work too, but a causal model sees only the words to the left of
each word, so expect several F1 points below an encoder of the same size on NER.
"""
from __future__ import annotations

import dataclasses

from ..config import RunConfig, TrainConfig
from ..data.tagged_table import TaggedTable
from ..data.word_splitting import split_words
from .auto import fit_auto, is_auto
from .fitted import Fitted, SavedModelMethods, exposes_fitted
from ..data.splits import read_tagged
from .tagging import decode_tags, entities_from_tags, fit_tagging, predict_word_logits, score_tagged

__all__ = ["EntityTagger"]


@exposes_fitted()
class EntityTagger(SavedModelMethods):
    """Fine-tune a pretrained transformer for named-entity recognition.

    model: hub id, local folder or alias (``minilm-l6`` works offline).
    strategy: "full", "frozen" (cached word features + linear or scikit-learn head), "lora", "partial",
        "scratch", "classic" (a word-feature logistic-regression tagger) or "auto" (see ``TextClassifier``).
    Data: CoNLL column files, JSONL with ``tokens``/``tags`` lists, a DataFrame or a Dataset.
    IOB1 and BIOES tags are converted to IOB2; invalid sequences are errors unless ``repair_tags``.

    Fitted (read-only): ``classes_`` (IOB2 tags), ``history_``, ``parameters_``, ``model_``,
    ``tokenizer_``, ``run_config_``, ``run_dir_``, ``train_seconds_``; ``fitted_`` is the whole record.
    """

    task = "ner"

    def __init__(self, model: str = "minilm-l6", strategy: str = "full", *, training: TrainConfig | None = None,
                 tokens_column: str = "tokens", tags_column: str = "tags", tag_column_index: int = -1,
                 repair_tags: bool = False, output_dir: str | None = None):
        self.model = model
        self.strategy = strategy
        self.training = training
        self.tokens_column = tokens_column
        self.tags_column = tags_column
        self.tag_column_index = tag_column_index
        self.repair_tags = repair_tags
        self.output_dir = output_dir

    def _run_config(self) -> RunConfig:
        return RunConfig(task="ner", model=self.model, strategy=self.strategy, tokens_column=self.tokens_column,
                         tags_column=self.tags_column, tag_column_index=self.tag_column_index,
                         repair_tags=self.repair_tags, output_dir=self.output_dir or "",
                         training=self.training or TrainConfig())

    def fit(self, train, validation=None) -> "EntityTagger":
        """Train on ``train``; ``validation`` (entity F1) drives early stopping."""
        run = self._run_config()
        if is_auto(run):  # rank, train the best few and the classic tagger, keep the best on validation
            self.fitted_, self.auto_ = fit_auto(run, train, validation, fit_tagging, dict(
                tokens_column=self.tokens_column, tags_column=self.tags_column,
                tag_column_index=self.tag_column_index, repair_tags=self.repair_tags))
        else:
            self.fitted_ = fit_tagging(run, train, validation)
        return self

    @classmethod
    def from_config(cls, run: RunConfig) -> "EntityTagger":
        """The unfitted estimator a run configuration describes."""
        return cls(run.model, run.strategy, training=run.training, tokens_column=run.tokens_column,
                   tags_column=run.tags_column, tag_column_index=run.tag_column_index, repair_tags=run.repair_tags,
                   output_dir=run.output_dir or None)

    @classmethod
    def from_fitted(cls, fitted: Fitted) -> "EntityTagger":
        """An estimator around a fitted record (what ``nlptransfer.load`` returns)."""
        tagger = cls.from_config(dataclasses.replace(fitted.run, output_dir=""))
        tagger.fitted_ = fitted
        return tagger

    # -- prediction ------------------------------------------------------------------------------
    def predict_tags(self, sentences: list[list[str]]) -> list[list[str]]:
        """One IOB2 tag per word of each pre-split sentence."""
        return decode_tags(predict_word_logits(self.fitted_, sentences), self.classes_)[0]

    def predict(self, texts):
        """str -> list of entities; list of str -> a list of those per text;
        list of word lists -> one tag per word (``predict_tags``).

        An entity is ``{"text", "type", "start", "end", "score"}`` with character offsets into the
        original string."""
        if isinstance(texts, str):
            return self.predict([texts])[0]
        texts = list(texts)
        if texts and all(isinstance(t, (list, tuple)) for t in texts):
            return self.predict_tags([list(t) for t in texts])
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"predict takes a string, a list of strings or a list of word lists; item {i} "
                                f"is {type(t).__name__}.")
        split = [split_words(t, self.tokenizer_) for t in texts]
        keep = [i for i, (words, _) in enumerate(split) if words]  # a text with no words has no entities
        logits = predict_word_logits(self.fitted_, [split[i][0] for i in keep]) if keep else []
        tags, scores = decode_tags(logits, self.classes_)
        results = [[] for _ in texts]
        for i, t, s in zip(keep, tags, scores):
            results[i] = entities_from_tags(texts[i], split[i][1], t, s)
        return results

    def read(self, data, name: str = "test") -> TaggedTable:
        """Tagged ``data`` read and checked with this estimator's column settings, as IOB2."""
        return read_tagged(self._run_config(), data, name)

    def evaluate(self, data, name: str = "test", *, extra_metrics=()) -> dict:
        """seqeval strict IOB2 entity metrics on tagged ``data``; also written as metrics-NAME.json/.md.
        ``extra_metrics``: ``evaluate`` modules, fed lists of IOB2 tags, reported as ``name/key``."""
        return score_tagged(self.fitted_, self.read(data, name), name, extra_metrics=extra_metrics)


"""The user's data as ``recommend`` sees it: read and checked like a training run, a stratified
sample to embed, one real training batch to time, and the task's metric on label ids."""
from __future__ import annotations

import numpy as np

from ..models.task_model import build_task_model
from ..task_types import task_type
from .layer_features import stratified_sample, text_layer_features, word_layer_features
from .scoring import classic_bar, metric_for, ner_classic_bar, ner_probe, score_layers

__all__ = ["TextSample", "TaggedSample", "typical_batch"]


def typical_batch(lengths: list[int], size: int) -> tuple[list[int], float]:
    """The rows of one batch around the median length, and how many times its padded length the
    average training batch pads to. Training groups texts of similar length, so each batch pads to
    about the longest of its own texts, not of a random batch; but a step's time grows with its
    padded length, and in a right-skewed set (SMS Spam: median 19 tokens, mean 24) the average
    batch is longer than the median one: timing the median batch alone predicted a third too few
    seconds (BENCHMARKS.md, "Recommend against a measured compare")."""
    order = np.argsort(lengths, kind="stable")
    start = max(0, min(len(order) - size, len(order) // 2 - size // 2))
    ordered = np.asarray(lengths)[order]
    average = np.mean([ordered[i:i + size].max() for i in range(0, len(ordered), size)])
    return order[start:start + size].tolist(), float(average / ordered[start:start + size].max())


class TextSample:
    unit = "texts"

    def __init__(self, run, train, validation, size: int, seed: int):
        from ..data.splits import read_text_splits

        self.run, self.task = run, task_type(run.task)
        splits = read_text_splits(run, train, validation)
        self.classes, self.n_train = splits.classes, len(splits.train)
        self.n_validation = len(splits.validation) if splits.validation is not None else 0
        self.counts = {c: splits.train.labels.count(c) for c in self.classes}
        rows = stratified_sample(splits.train.labels, size, seed)
        self.texts = [splits.train.texts[i] for i in rows]
        self.labels = np.asarray([self.classes.index(splits.train.labels[i]) for i in rows])
        self.positive = self.classes.index(splits.positive) if splits.positive is not None else None
        self.balanced = self.task.binary  # as the spam task weighs its classes
        self.metric = metric_for(self.task, self.positive)
        self.sample_n, self.num_labels = len(rows), len(self.classes)
        self.bar = classic_bar(self.texts, self.labels, self.metric, self.balanced, seed)

    def score(self, model: str, config, accelerator, seed: int):
        from ..data.batching import encode_texts, text_collator

        built = build_task_model(model, self.num_labels, "frozen", config)
        dataset = encode_texts(built.tokenizer, self.texts, config.max_length, self.labels.tolist())
        collate = text_collator(built.tokenizer)
        layers = text_layer_features(built, dataset, collate, accelerator, config.eval_batch_size)
        scores = score_layers(layers, self.labels, self.metric, self.balanced, seed)
        rows, length_scale = typical_batch(dataset.lengths, config.batch_size)
        return scores, collate([dataset[i] for i in rows]), None, length_scale

    def summary(self) -> dict:
        return {"unit": self.unit, "train": self.n_train, "validation": self.n_validation, "sample": self.sample_n,
                "classes": self.counts, "smallest_class": min(self.counts.values()),
                "metric": "positive_f1" if self.positive is not None else "macro_f1",
                "classic": {"score": self.bar[0], "spread": self.bar[1]}}


class TaggedSample:
    unit = "sentences"

    def __init__(self, run, train, validation, size: int, seed: int):
        from ..data.splits import read_tagged_splits

        splits = read_tagged_splits(run, train, validation)
        self.tags, self.n_train = splits.tags, len(splits.train)
        self.n_validation = len(splits.validation) if splits.validation is not None else 0
        rng = np.random.default_rng(seed)
        rows = sorted(rng.choice(len(splits.train), min(size, len(splits.train)), replace=False).tolist())
        self.words = [splits.train.words[i] for i in rows]
        self.sentence_tags = [splits.train.tags[i] for i in rows]
        self.labels = np.asarray([self.tags.index(t) for s in self.sentence_tags for t in s])
        self.sample_n, self.num_labels = len(rows), len(self.tags)
        self.bar = ner_classic_bar(self.words, self.sentence_tags, seed)

    def score(self, model: str, config, accelerator, seed: int):
        from ..data.word_windows import encode_tagged, tag_collator
        from ..data.tagged_table import TaggedTable

        built = build_task_model(model, self.num_labels, "frozen", config, pooling="none")
        table = TaggedTable(self.words, self.sentence_tags, "sample")
        dataset = encode_tagged(built.tokenizer, table, self.tags, config)
        collate = tag_collator(built.tokenizer)
        layers = word_layer_features(built, dataset, collate, accelerator, config.eval_batch_size)
        probe = ner_probe([len(s) for s in self.words], self.sentence_tags, seed)
        # LogME and H-score see word tags as classes; the probe is scored on whole entities
        scores = score_layers(layers, self.labels, None, False, seed, probe=probe)
        rows, length_scale = typical_batch(dataset.lengths, config.batch_size)
        return scores, collate([dataset[i] for i in rows]), "none", length_scale

    def summary(self) -> dict:
        return {"unit": self.unit, "train": self.n_train, "validation": self.n_validation, "sample": self.sample_n,
                "tags": len(self.tags), "smallest_class": None, "metric": "entity_f1",
                "classic": {"score": self.bar[0], "spread": self.bar[1]}}

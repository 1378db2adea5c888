"""``EntityTagger``: named-entity recognition, one IOB2 tag per word, scikit-learn-like.

Decoders (GPT-2, Llama-style) work too, but a causal model sees only the words to the left of
each word, so expect several F1 points below an encoder of the same size on NER.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from .alignment import IGNORE, WindowDataset, encode_words, split_words, word_logits
from .config import RunConfig, TrainConfig
from .data import DataError
from .estimator import (build, load_estimator, merge_adapter, predict_accelerator, record_metrics, save_estimator,
                        start_run, train_frozen_head, write_run_records)
from .harness import evaluate_entities
from .inference import extract_word_features, predict_logits
from .metrics import entity_metrics
from .strategies import default_learning_rate
from .tag_schemes import lenient_iob2
from .tagged_data import TaggedTable, check_tag_splits, read_tagged_table
from .training import train_model

__all__ = ["EntityTagger", "entities_from_tags"]


def _token_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over labelled positions: (B, T, C) with (B, T) or, frozen, (N, C) with (N,)."""
    return F.cross_entropy(logits.flatten(0, -2).float(), labels.flatten(), ignore_index=IGNORE)


def _decode(logits_per_sentence: list[torch.Tensor], tags: list[str]):
    """Argmax tags per word, with I-X that continues no X read as B-X (the usual lenient decode),
    and each word's probability of its tag."""
    out_tags, out_scores = [], []
    for logits in logits_per_sentence:
        proba = torch.softmax(logits, -1)
        out_tags.append(lenient_iob2([tags[i] for i in proba.argmax(-1).tolist()]))
        out_scores.append(proba.max(-1).values.numpy())
    return out_tags, out_scores


def entities_from_tags(text: str, spans, tags: list[str], scores) -> list[dict]:
    """Entity dicts with character offsets into ``text``; score = mean tag probability."""
    entities, current = [], None
    for (start, end), tag, score in zip(spans, tags, scores):
        if tag.startswith("I-") and current is not None and current["type"] == tag[2:]:
            current["end"], current["_scores"] = end, current["_scores"] + [float(score)]
            continue
        if current is not None:
            entities.append(current)
        current = {"type": tag[2:], "start": start, "end": end, "_scores": [float(score)]} if tag != "O" else None
    if current is not None:
        entities.append(current)
    return [{"text": text[e["start"]:e["end"]], "type": e["type"], "start": e["start"], "end": e["end"],
             "score": round(float(np.mean(e["_scores"])), 4)} for e in entities]


class EntityTagger:
    """Fine-tune a pretrained transformer for named-entity recognition.

    model: hub id, local folder or alias (``minilm-l6`` works offline).
    strategy: "full", "frozen" (cached word features + linear or scikit-learn head), "lora" or "scratch".
    Data: CoNLL column files, JSONL with ``tokens``/``tags`` lists, a DataFrame or a Dataset.
    IOB1 and BIOES tags are converted to IOB2; invalid sequences are errors unless ``repair_tags``.
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

    def _read(self, data, name: str) -> TaggedTable:
        if isinstance(data, TaggedTable):
            return data
        return read_tagged_table(data, self.tokens_column, self.tags_column, tag_index=self.tag_column_index,
                                 name=name, repair=self.repair_tags)

    def _encode(self, table: TaggedTable, ids: dict | None = None) -> WindowDataset:
        cfg = self.run_config_.training
        tag_ids = [[ids[t] for t in s] for s in table.tags] if ids is not None else None
        return encode_words(self.tokenizer_, table.words, cfg.max_length, cfg.window_overlap, tag_ids)

    def fit(self, train, validation=None) -> "EntityTagger":
        """Train on ``train``; ``validation`` (entity F1) drives early stopping."""
        run = self._run_config()
        cfg = run.training
        accelerator, self.run_dir_ = start_run(run, "ner")
        train_t = self._read(train, "train")
        val_t = self._read(validation, "validation") if validation is not None else None
        tags = check_tag_splits(train_t, {"validation": val_t})
        built = build(self.model, len(tags), run.strategy, cfg, pooling="none")
        self.model_, self.tokenizer_, self.classes_, self.run_config_ = built.net, built.tokenizer, tags, run
        self.model_type_, self.parameters_ = built.model_type, built.parameters
        accelerator.print(f"{run.strategy}: {built.parameters}")

        ids = {t: i for i, t in enumerate(tags)}
        train_ds = self._encode(train_t, ids)
        val_ds = self._encode(val_t, ids) if val_t is not None else None
        net = built.net
        started = time.perf_counter()
        if run.strategy == "frozen":
            net.to(accelerator.device)
            collate = self._collate()
            train_x = extract_word_features(net, train_ds, collate, accelerator, cfg.eval_batch_size)
            val_x = extract_word_features(net, val_ds, collate, accelerator, cfg.eval_batch_size) if val_ds else None
            self.feature_seconds_ = time.perf_counter() - started
            to_sentences = lambda logits: list(torch.split(logits, val_ds.sentence_lengths))  # noqa: E731
            result = train_frozen_head(net, train_x, [ids[t] for s in train_t.tags for t in s], val_x,
                                       [ids[t] for s in val_t.tags for t in s] if val_t else None, cfg=cfg,
                                       accelerator=accelerator, loss_fn=_token_loss, balanced=False,
                                       score_fn=lambda logits, _: self._f1(to_sentences(logits), val_t),
                                       run_dir=self.run_dir_)
        else:
            to_sentences = lambda logits: word_logits(logits, val_ds)  # noqa: E731
            result = train_model(net, train_ds, self._collate(), config=cfg, accelerator=accelerator,
                                 learning_rate=default_learning_rate(run.strategy, cfg), loss_fn=_token_loss,
                                 validation_set=val_ds, run_dir=self.run_dir_,
                                 score_fn=lambda logits, _: self._f1(to_sentences(logits), val_t))
        self.train_seconds_ = time.perf_counter() - started
        self.history_ = result.history
        self.model_.eval()
        write_run_records(self.run_dir_, run, self.history_, accelerator)
        if val_t is not None:
            logits = to_sentences(result.best_logits) if result.best_logits is not None else None
            self._report(val_t, logits, "validation")
        return self

    def _collate(self):
        from transformers import DataCollatorForTokenClassification

        return DataCollatorForTokenClassification(self.tokenizer_, label_pad_token_id=IGNORE, return_tensors="pt")

    def _f1(self, logits_per_sentence, table) -> float:
        return entity_metrics(table.tags, _decode(logits_per_sentence, self.classes_)[0])["f1"]

    # -- prediction ------------------------------------------------------------------------------
    def _word_logits(self, sentences: list[list[str]]) -> list[torch.Tensor]:
        dataset = self._encode(TaggedTable(sentences, None, "input"))
        logits = predict_logits(self.model_, dataset, self._collate(), predict_accelerator(self),
                                self.run_config_.training.eval_batch_size)
        return word_logits(logits, dataset)

    def predict_tags(self, sentences: list[list[str]]) -> list[list[str]]:
        """One IOB2 tag per word of each pre-split sentence."""
        return _decode(self._word_logits(sentences), self.classes_)[0]

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
        split = [split_words(t) for t in texts]
        keep = [i for i, (words, _) in enumerate(split) if words]  # a text with no words has no entities
        tags, scores = _decode(self._word_logits([split[i][0] for i in keep]), self.classes_) if keep else ([], [])
        results = [[] for _ in texts]
        for i, t, s in zip(keep, tags, scores):
            results[i] = entities_from_tags(texts[i], split[i][1], t, s)
        return results

    def evaluate(self, data, name: str = "test") -> dict:
        """seqeval strict IOB2 entity metrics on tagged ``data``; also written as metrics-NAME.json/.md."""
        table = self._read(data, name)
        unknown = sorted({t for s in table.tags for t in s} - set(self.classes_))
        if unknown:
            raise DataError(f"{table.source}: tag {unknown[0]!r} was not seen in training (model tags: {self.classes_}).")
        return self._report(table, None, name)

    def _report(self, table: TaggedTable, logits, name: str) -> dict:
        predicted = _decode(logits if logits is not None else self._word_logits(table.words), self.classes_)[0]
        return self._score(table, predicted, name)

    def _score(self, table: TaggedTable, predicted: list[list[str]], name: str) -> dict:
        return record_metrics(self, name, {**evaluate_entities(table.tags, predicted), "source_scheme": table.scheme})

    # -- export ----------------------------------------------------------------------------------
    def merge(self) -> "EntityTagger":
        """Fold a LoRA adapter into the backbone weights; no-op for other strategies."""
        merge_adapter(self.model_)
        return self

    def save(self, path):
        """Write the fitted tagger to the folder ``path`` (replaced atomically)."""
        return save_estimator(self, path, "entity-tagger", {})

    @classmethod
    def _from_folder(cls, path) -> "EntityTagger":
        def make(run, meta):
            return cls(meta["model"], meta["strategy"], training=run.training, tokens_column=run.tokens_column,
                       tags_column=run.tags_column, tag_column_index=run.tag_column_index)

        return load_estimator(make, path)[0]

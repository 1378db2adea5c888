"""Named-entity recognition as steps: read and check the tagged splits, encode words into
windows, train on first sub-tokens, decode one IOB2 tag per word, score strictly.
``fit_tagging`` runs them in order; ``tasks/tagging.py`` runs the same steps written out."""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from ..config import RunConfig
from ..data.tag_schemes import lenient_iob2
from ..data.tagged_table import TaggedTable, check_tag_splits, read_tagged_table
from ..data.word_windows import IGNORE, WindowDataset, encode_words, sentence_logits
from ..evaluation.extra_metrics import compute_extra_metrics
from ..evaluation.harness import evaluate_entities
from ..evaluation.metrics import entity_metrics
from ..models.inference import extract_word_features, on_device, predict_logits
from ..models.task_model import build_task_model
from ..task_types import TASK_TYPES
from ..training.losses import SummedCrossEntropy
from ..training.processes import inference_accelerator
from ..training.run_folder import start_run, write_run_records
from ..training.train_weights import train_weights
from .fitted import Fitted, record_metrics

__all__ = ["TaggedSplits", "read_tagged_splits", "encode_tagged", "tag_collator", "decode_tags",
           "fit_tagging", "predict_word_logits", "score_tagged", "entities_from_tags"]


@dataclass(frozen=True)
class TaggedSplits:
    train: TaggedTable
    validation: TaggedTable | None
    test: TaggedTable | None
    tags: list[str]  # IOB2 tags of train, "O" first


def read_tagged(run: RunConfig, source, name: str) -> TaggedTable:
    """One split as IOB2-tagged words, read with the run's column settings."""
    if isinstance(source, TaggedTable):
        return source
    return read_tagged_table(source, run.tokens_column, run.tags_column, tag_index=run.tag_column_index,
                             name=name, repair=run.repair_tags)


def read_tagged_splits(run: RunConfig, train, validation=None, test=None) -> TaggedSplits:
    """Read and check every split given, before any model loads; errors name the file, sentence
    and token."""
    train_t = read_tagged(run, train, "train")
    others = {name: read_tagged(run, source, name) if source is not None else None
              for name, source in (("validation", validation), ("test", test))}
    tags = check_tag_splits(train_t, others)
    return TaggedSplits(train_t, others["validation"], others["test"], tags)


def encode_tagged(tokenizer, table: TaggedTable | None, tags: list[str] | None, config) -> WindowDataset | None:
    """Windows of whole words with labels on first sub-tokens (``tags`` None: no labels)."""
    if table is None:
        return None
    ids = {t: i for i, t in enumerate(tags)} if tags is not None else None
    # a tag train never had (validation/test only) has no output to learn: not scored by the loss
    tag_ids = [[ids.get(t, IGNORE) for t in s] for s in table.tags] if ids is not None else None
    return encode_words(tokenizer, table.words, config.max_length, config.window_overlap, tag_ids, table.source)


def tag_collator(tokenizer):
    from transformers import DataCollatorForTokenClassification

    return DataCollatorForTokenClassification(tokenizer, label_pad_token_id=IGNORE, return_tensors="pt")


def decode_tags(logits_per_sentence: list[torch.Tensor], tags: list[str]):
    """Argmax tags per word, with I-X that continues no X read as B-X (the usual lenient decode),
    and each word's probability of its tag."""
    out_tags, out_scores = [], []
    for logits in logits_per_sentence:
        proba = torch.softmax(logits, -1)
        out_tags.append(lenient_iob2([tags[i] for i in proba.argmax(-1).tolist()]))
        out_scores.append(proba.max(-1).values.numpy())
    return out_tags, out_scores


def fit_tagging(run: RunConfig, train, validation=None) -> Fitted:
    """Fit an entity tagger as ``run`` says; returns the fitted record (validation metrics are
    written to the run folder)."""
    cfg = run.training
    splits = read_tagged_splits(run, train, validation)
    accelerator, run_dir = start_run(run)
    built = build_task_model(run.model, len(splits.tags), run.strategy, cfg, pooling="none")
    accelerator.print(f"{run.strategy}: {built.parameters}")
    train_set = encode_tagged(built.tokenizer, splits.train, splits.tags, cfg)
    val_set = encode_tagged(built.tokenizer, splits.validation, splits.tags, cfg)

    def entity_f1(logits, _labels) -> float:
        predicted = decode_tags(sentence_logits(logits, val_set), splits.tags)[0]
        return entity_metrics(splits.validation.tags, predicted)["f1"]

    started = time.perf_counter()
    result = train_weights(built.net, run.strategy, train_set, val_set, tag_collator(built.tokenizer), config=cfg,
                           accelerator=accelerator, loss_fn=SummedCrossEntropy(), score_fn=entity_f1,
                           score_name=TASK_TYPES["ner"].selection_metric, extract=extract_word_features,
                           run_dir=run_dir, identity={"model": run.model, "strategy": run.strategy})
    fitted = Fitted(kind="entity-tagger", run=run, net=built.net.eval(), tokenizer=built.tokenizer,
                    model_type=built.model_type, classes=splits.tags, parameters=built.parameters,
                    history=result.history, run_dir=run_dir, train_seconds=time.perf_counter() - started,
                    feature_seconds=result.feature_seconds)
    write_run_records(run_dir, run, fitted.history, accelerator)
    if splits.validation is not None:
        logits = sentence_logits(result.best_logits, val_set) if result.best_logits is not None else None
        score_tagged(fitted, splits.validation, "validation", logits)
    return fitted


def predict_word_logits(fitted: Fitted, sentences: list[list[str]]) -> list[torch.Tensor]:
    """Per sentence a (words, tags) tensor of logits, each word predicted once."""
    cfg = fitted.run.training
    accelerator = inference_accelerator()
    on_device(fitted.net, accelerator.device)
    dataset = encode_tagged(fitted.tokenizer, TaggedTable(sentences, None, "input"), None, cfg)
    logits = predict_logits(fitted.net, dataset, tag_collator(fitted.tokenizer), accelerator, cfg.eval_batch_size)
    return sentence_logits(logits, dataset)


def score_tagged(fitted: Fitted, table: TaggedTable, name: str, logits: list[torch.Tensor] | None = None,
                 extra_metrics=()) -> dict:
    """Strict IOB2 entity metrics (seqeval) on a tagged table, in the report envelope, written as
    metrics-NAME.json/.md to the run folder. ``logits``: per-sentence word logits, if computed."""
    if logits is None:
        logits = predict_word_logits(fitted, table.words)
    predicted = decode_tags(logits, fitted.classes)[0]
    metrics = {**evaluate_entities(table.tags, predicted), "source_scheme": table.scheme}
    unseen = sorted({t for s in table.tags for t in s} - set(fitted.classes))
    if unseen:  # seqeval scores their entities; the model never predicts them, so their recall is 0
        warnings.warn(f"{table.source}: tag(s) {unseen} were not seen in training; the model can never predict "
                      f"them, so their entities are scored with recall 0.", stacklevel=2)
        metrics["unseen_labels"] = unseen
    metrics.update(compute_extra_metrics(extra_metrics, predicted, table.tags))
    return record_metrics(fitted, name, metrics)


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

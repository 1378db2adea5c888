"""Named-entity recognition as steps: read and check the tagged splits, encode words into
windows, train on first sub-tokens, decode one IOB2 tag per word, score strictly.
``fit_tagging`` runs them in order; ``tasks/tagging.py`` runs the same steps written out."""
from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np
import torch

from ..config import RunConfig
from ..data.tag_schemes import best_valid_tags
from ..data.splits import TaggedSplits, read_tagged_splits
from ..data.tagged_table import TaggedTable
from ..data.word_windows import encode_tagged, sentence_logits, tag_collator
from ..evaluation.extra_metrics import compute_extra_metrics
from ..evaluation.harness import evaluate_entities
from ..evaluation.metrics import entity_metrics
from ..models.classic import FeatureTagger, classic_parameters, is_classic
from ..models.inference import extract_word_features, on_device, predict_logits
from ..models.task_model import build_task_model
from ..strategies import ParameterCount, strategy
from ..task_types import TASK_TYPES, training_for
from ..training.adaptation import task_backbone
from ..training.losses import SummedCrossEntropy
from ..training.processes import inference_accelerator
from ..training.run_folder import start_fit, write_run_records
from ..training.train_weights import train_weights
from .fitted import Fitted, record_metrics

__all__ = ["decode_tags", "entity_scorer", "fit_tagging", "predict_word_logits", "score_tagged", "entities_from_tags"]


def decode_tags(logits_per_sentence: list[torch.Tensor], tags: list[str]):
    """Per sentence the most probable valid IOB2 tags (``best_valid_tags``), and each word's
    probability of its tag."""
    out_tags, out_scores = [], []
    for logits in logits_per_sentence:
        log_proba = torch.log_softmax(logits.float(), -1)
        ids = best_valid_tags(log_proba.numpy(), tags)
        out_tags.append([tags[i] for i in ids])
        out_scores.append(log_proba.exp().numpy()[np.arange(len(ids)), ids])
    return out_tags, out_scores


def entity_scorer(val_set, validation: TaggedTable | None, tags: list[str]):
    """The loop's ``score_fn``: strict entity F1 of the decoded validation sentences."""
    def entity_f1(logits, _labels) -> float:
        predicted = decode_tags(sentence_logits(logits, val_set), tags)[0]
        return entity_metrics(validation.tags, predicted)["f1"]

    return entity_f1


def fit_tagging(run: RunConfig, train, validation=None) -> Fitted:
    """Fit an entity tagger as ``run`` says; returns the fitted record (validation metrics are
    written to the run folder)."""
    cfg = training_for(TASK_TYPES["ner"], run.training)
    splits = read_tagged_splits(run, train, validation)
    accelerator, run_dir, train_table = start_fit(run, splits.train)
    if not strategy(run.strategy).neural:
        return _fit_classic(run, splits, train_table, accelerator, run_dir)
    source, adapt_seconds = task_backbone(run, splits.train.texts, splits.validation and splits.validation.texts,
                                         accelerator, run_dir)
    built = build_task_model(source, len(splits.tags), run.strategy, cfg, pooling="none")
    accelerator.print(f"{run.strategy}: {built.parameters}")
    train_set = encode_tagged(built.tokenizer, train_table, splits.tags, cfg)
    val_set = encode_tagged(built.tokenizer, splits.validation, splits.tags, cfg)

    started = time.perf_counter()
    result = train_weights(built.net, run.strategy, train_set, val_set, tag_collator(built.tokenizer), config=cfg,
                           accelerator=accelerator, loss_fn=SummedCrossEntropy(),
                           score_fn=entity_scorer(val_set, splits.validation, splits.tags),
                           score_name=TASK_TYPES["ner"].selection_metric, extract=extract_word_features,
                           run_dir=run_dir, identity={"model": run.model, "strategy": run.strategy,
                                                                "adapt": cfg.adapt})
    fitted = Fitted(kind="entity-tagger", run=run, net=built.net.eval(), tokenizer=built.tokenizer,
                    model_type=built.model_type, classes=splits.tags, parameters=built.parameters,
                    history=result.history, run_dir=run_dir, feature_seconds=result.feature_seconds,
                    train_seconds=adapt_seconds + time.perf_counter() - started)
    write_run_records(run_dir, run, fitted.history, accelerator)
    if splits.validation is not None:
        logits = sentence_logits(result.best_logits, val_set) if result.best_logits is not None else None
        score_tagged(fitted, splits.validation, "validation", logits)
    return fitted


def _fit_classic(run: RunConfig, splits: TaggedSplits, train: TaggedTable, accelerator, run_dir) -> Fitted:
    """The classic strategy: a word-feature logistic-regression tagger (C chosen on validation) on
    ``train`` (augmented or not)."""
    run, val = dataclasses.replace(run, model="classic"), splits.validation  # no checkpoint behind it
    started = time.perf_counter()
    model = FeatureTagger(seed=run.training.seed).fit(train.words, train.tags,
                                                      val.words if val else None, val.tags if val else None)
    n = classic_parameters(model)
    fitted = Fitted(kind="entity-tagger", run=run, net=model, tokenizer=None, model_type="classic",
                    classes=splits.tags, parameters=ParameterCount(n, n), run_dir=run_dir,
                    history=[{"epoch": 1, "head": f"word features + LogisticRegression(C={model.c_:g})"}],
                    train_seconds=time.perf_counter() - started)
    accelerator.print(f"classic: word-feature tagger, LogisticRegression C={model.c_:g}, {n:,} weights")
    write_run_records(run_dir, run, fitted.history, accelerator)
    if val is not None:
        score_tagged(fitted, val, "validation")
    return fitted


def predict_word_logits(fitted: Fitted, sentences: list[list[str]]) -> list[torch.Tensor]:
    """Per sentence a (words, tags) tensor of logits, each word predicted once."""
    if is_classic(fitted.net):  # log-probabilities: their softmax gives the probabilities back
        return [torch.as_tensor(x, dtype=torch.float32) for x in fitted.net.word_log_proba(sentences, fitted.classes)]
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

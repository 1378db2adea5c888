"""One run of a compare, in a process of its own: ``python -m nlptransfer.comparison.worker JOB.json``.

Writes predictions.json (test predictions, for the paired bootstrap and the plots), then
result.json last and atomically: a run is finished exactly when result.json exists.
"""
from __future__ import annotations

import dataclasses
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

from ..atomic_files import atomic_write_text
from ..strategies import AUTO, base_strategy

__all__ = ["main"]


def _classic_classification(job: dict) -> tuple[dict, dict]:
    from ..data.text_table import read_text_table
    from ..evaluation.harness import evaluate_classification
    from ..task_types import TASK_TYPES, class_weights, positive_label, tune_threshold
    from ..models.classic import TfidfClassifier

    train, val, test = (read_text_table(job[n], name=n) for n in ("train", "validation", "test"))
    task = TASK_TYPES[job["task"]]
    classes = sorted(set(train.labels))
    ids = [classes.index(y) for y in train.labels]
    balanced = class_weights(task, ids, len(classes), "auto") is not None
    started = time.perf_counter()
    model = TfidfClassifier(balanced, seed=job["seed"]).fit(train.texts, train.labels, val.texts, val.labels)
    seconds = time.perf_counter() - started
    classes = model.classes_
    positive = positive_label(task, classes, train.labels, train.source)
    threshold = None
    if positive is not None:
        pos = classes.index(positive)
        threshold = tune_threshold(model.predict_proba(val.texts)[:, pos], np.asarray(val.labels) == positive)
    proba = model.predict_proba(test.texts)
    metrics = evaluate_classification(test.labels, proba, classes, positive, threshold)
    result = {"metrics": metrics, "train_seconds": seconds, "epochs": 1,
              "trainable_params": int(model.model_.coef_.size + model.model_.intercept_.size),
              "detail": f"TF-IDF word 1-2 + char 2-5 grams, LogisticRegression C={model.c_}"}
    return result, {"classes": classes, "true": test.labels, "proba": proba.round(6).tolist(),
                    "positive_label": positive, "threshold": threshold}


def _classic_ner(job: dict) -> tuple[dict, dict]:
    from ..data.tagged_table import read_tagged_table
    from ..evaluation.harness import evaluate_entities
    from ..models.classic import FeatureTagger

    train, val, test = (read_tagged_table(job[n], name=n) for n in ("train", "validation", "test"))
    started = time.perf_counter()
    model = FeatureTagger(seed=job["seed"]).fit(train.words, train.tags, val.words, val.tags)
    seconds = time.perf_counter() - started
    predicted = model.predict_tags(test.words)
    result = {"metrics": evaluate_entities(test.tags, predicted), "train_seconds": seconds, "epochs": 1,
              "trainable_params": int(model.model_.coef_.size + model.model_.intercept_.size),
              "detail": f"word-feature LogisticRegression tagger C={model.c_}"}
    return result, {"true": test.tags, "predicted": predicted}


def _fit(fit, run, job: dict):
    """``fit(run, train, validation)``; for an auto row ``fit_auto`` over the job's candidates, and
    for a ``+multi`` row one backbone trained on this task and the job's second task, giving this
    task's record; also what was kept and why, or what was trained with (for the results table)."""
    if "with" in job:
        from ..estimators.multi_task import MultiTaskModel

        other = job["with"]
        name, second = job["task"], f"with-{other['task']}"
        model = MultiTaskModel(run.model, run.strategy, {name: (job["task"], job["train"], job["validation"]),
                                                         second: (other["task"], other["train"], other["validation"])},
                               training=run.training, output_dir=run.output_dir).fit()
        return model.tasks_[name], {"detail": f"multi-task with {other['task']} ({other['n_train']} training "
                                              f"examples), one backbone"}
    if job["strategy"] != AUTO:
        return fit(run, job["train"], job["validation"]), None
    from ..estimators.auto import fit_auto

    started = time.perf_counter()
    fitted, choice = fit_auto(run, job["train"], job["validation"], fit, {})
    fitted = dataclasses.replace(fitted, train_seconds=time.perf_counter() - started)  # ranking and every candidate
    return fitted, {"kept": f"{choice.model} {choice.strategy}", "detail": choice.reason}


def _neural(job: dict, run_dir: Path) -> tuple[dict, dict]:
    from ..config import RunConfig, TrainConfig

    model = ",".join(job["candidates"]) if job["strategy"] == AUTO else job["model"]
    strategy = base_strategy(job["strategy"])  # "full+adapt+eda": its training says adapt=task, augment=eda;
    # "full+multi": the job names its second task
    run = RunConfig(task=job["task"], model=model, strategy=strategy, output_dir=str(run_dir / "run"),
                    training=TrainConfig(**{**job["training"], "progress": False,
                                            "overwrite_output_dir": True}))  # a rerun replaces a failed attempt
    if job["task"] == "ner":
        from ..data.splits import read_tagged
        from ..estimators.tagging import decode_tags, fit_tagging, predict_word_logits, score_tagged

        fitted, detail = _fit(fit_tagging, run, job)
        test = read_tagged(run, job["test"], "test")
        logits = predict_word_logits(fitted, test.words)
        metrics = score_tagged(fitted, test, "test", logits)
        predictions = {"true": test.tags, "predicted": decode_tags(logits, fitted.classes)[0]}
    else:
        from ..data.text_table import read_text_table
        from ..estimators.classification import fit_classification, predict_proba, score_texts

        fitted, detail = _fit(fit_classification, run, job)
        test = read_text_table(job["test"], name="test")
        proba = predict_proba(fitted, test.texts)
        metrics = score_texts(fitted, test, "test", proba)
        predictions = {"classes": fitted.classes, "true": test.labels, "proba": proba.round(6).tolist(),
                       "positive_label": fitted.positive_label, "threshold": fitted.threshold}
    result = {"metrics": metrics, "train_seconds": fitted.train_seconds, "epochs": max(len(fitted.history), 1),
              "trainable_params": fitted.parameters.trainable, "total_params": fitted.parameters.total}
    result.update(detail or {})
    return result, predictions


def main(job_path: str) -> None:
    job_file = Path(job_path)
    job = json.loads(job_file.read_text())
    run_dir = job_file.parent
    started = time.perf_counter()
    if job["strategy"] == "classic":
        result, predictions = (_classic_ner if job["task"] == "ner" else _classic_classification)(job)
    else:
        result, predictions = _neural(job, run_dir)
    result["wall_seconds"] = time.perf_counter() - started
    seen = job["n_train"] + job.get("with", {}).get("n_train", 0)  # a +multi row trains on both tasks
    result["samples_per_second"] = seen * result["epochs"] / max(result["train_seconds"], 1e-9)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    torch = sys.modules.get("torch")  # only neural runs import it
    if torch is not None and torch.cuda.is_available():
        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    keys = ("task", "model", "strategy", "fraction", "seed", "n_train", "fingerprint")
    atomic_write_text(run_dir / "predictions.json", json.dumps(predictions))
    atomic_write_text(run_dir / "result.json", json.dumps({**{k: job[k] for k in keys}, **result}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])

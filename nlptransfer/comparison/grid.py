"""``nlptransfer compare`` / ``nlptransfer.compare()``: every model x strategy x seed x train
fraction, a from-scratch and a classic baseline, on identical splits; then the transfer gain with
its uncertainty.

Layout of ``output_dir``:
    compare.json          what was asked (the grid, the data, the training config)
    splits/               the splits as JSONL, train subsets per fraction and seed
    runs/<run>/           one run: result.json (written last, atomically), predictions.json, log.txt
    results.csv|json, report.md, report.html, plots/   (rebuilt by ``nlptransfer report``)

``strategies`` may include ``auto``: one more row per fraction and seed, in which ``strategy="auto"``
chooses among the compared models and every strategy on that run's data (validation decides),
so the report shows what acting on ``recommend`` would have scored, and at what cost (its
``train_seconds`` include the ranking and every candidate it trained).

``adapt=("none", "task")`` runs every pretrained strategy twice on the same splits and seeds: as
is, and after task-adaptive pretraining on that run's training texts (row ``full+adapt``);
``augment=("none", "eda")`` likewise with and without augmented training copies (row
``full+eda``; NER also ``mention``); ``with_task=(task, train, validation)`` adds each strategy
trained on this task and that one together with one backbone (row ``full+multi``, scored on this
task's test split). The report gives the paired gain of each such row over the same row without
its last technique.

Each neural run is its own Python process: its peak memory is its own, and a crash or a kill
loses only that run. A run whose result.json exists with the same fingerprint (data, config,
model, strategy, seed, fraction) is reused, so repeating or resuming a compare retrains nothing.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ..atomic_files import atomic_write_text
from ..config import TrainConfig
from ..errors import ConfigError
from ..multi_task_config import MULTI_TASK_STRATEGIES
from ..strategies import AUTO, NEURAL, STRATEGIES, row_strategy
from ..task_types import TASK_TYPES

__all__ = ["compare", "run_key"]


def run_key(model: str, strategy: str, fraction: float, seed: int) -> str:
    name = Path(model).name if os.sep in model else model
    return f"{name}--{strategy}--f{fraction:g}--s{seed}"


def _fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _write_jsonl(path: Path, rows: list[dict]) -> str:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return _fingerprint([r for r in rows])


def _read_splits(task, sources: dict, columns: dict):
    """Every split (name -> source, train first) as JSON rows, read and checked once (errors name
    the file, row and label)."""
    if task == "ner":
        from ..data.tagged_table import check_tag_splits, read_tagged_table

        read = lambda src, name: read_tagged_table(src, columns["tokens_column"], columns["tags_column"],  # noqa: E731
                                                   name=name)
        tables = {n: read(s, n) for n, s in sources.items()}
        check_tag_splits(tables["train"], {n: t for n, t in tables.items() if n != "train"})
        return {n: [{"tokens": w, "tags": t} for w, t in zip(tab.words, tab.tags)] for n, tab in tables.items()}
    from ..data.text_table import check_splits, read_text_table

    tables = {n: read_text_table(s, columns["text_column"], columns["label_column"], name=n)
              for n, s in sources.items()}
    check_splits(tables["train"], {n: t for n, t in tables.items() if n != "train"})
    return {n: [{"text": x, "label": y} for x, y in zip(tab.texts, tab.labels)] for n, tab in tables.items()}


def _with_task(with_task, out: Path, columns: dict) -> dict | None:
    """The second task of the ``STRATEGY+multi`` rows: (task, train, validation), read and checked
    now, written beside the splits; None without one."""
    if with_task is None:
        return None
    if not isinstance(with_task, (tuple, list)) or len(with_task) != 3 or with_task[0] not in TASK_TYPES:
        raise ConfigError(f"with_task must be (task, train, validation), task one of {', '.join(TASK_TYPES)}; "
                          f"got {with_task!r}.")
    task, train, validation = with_task
    rows = _read_splits(task, {"train": train, "validation": validation}, columns)
    paths = {n: out / "splits" / f"with-{n}.jsonl" for n in rows}
    hashes = [_write_jsonl(paths[n], rows[n]) for n in rows]
    return {"task": task, "train": str(paths["train"]), "validation": str(paths["validation"]),
            "n_train": len(rows["train"]), "data": hashes}


def _subset(rows: list[dict], fraction: float, seed: int, task: str) -> list[dict]:
    """A stratified (classification) or plain (NER) sample of ``fraction`` of train; all of it at 1."""
    if fraction >= 1:
        return rows
    rng = np.random.default_rng(seed)
    if task == "ner":
        keep = rng.choice(len(rows), max(1, round(fraction * len(rows))), replace=False)
    else:
        keep = []
        for label in sorted({r["label"] for r in rows}):  # every class keeps at least one example
            idx = [i for i, r in enumerate(rows) if r["label"] == label]
            keep += list(rng.choice(idx, max(1, round(fraction * len(idx))), replace=False))
    return [rows[i] for i in sorted(keep)]


def compare(task: str, train, validation, test, *, models=("minilm-l6",), strategies=NEURAL,
            seeds: int = 3, train_fractions=(1.0,), output_dir: str = "out/compare",
            training: TrainConfig | None = None, classic: bool = True, text_column: str = "text",
            label_column: str = "label", tokens_column: str = "tokens", tags_column: str = "tags",
            adapt=("none",), augment=("none",), with_task=None) -> dict:
    """Run the grid (reusing finished runs), then write results and the report. Returns the summary.
    ``with_task=(task, train, validation)``: every strategy that can share a backbone also as a
    multi-task row ``STRATEGY+multi`` trained on both tasks and scored on this one (same columns)."""
    from .report import write_compare_outputs

    if task not in TASK_TYPES:
        raise ConfigError(f"task must be one of {', '.join(TASK_TYPES)}; got {task!r}.")
    for s in strategies:
        if s not in (*NEURAL, AUTO):
            why = " (the classic baseline runs in every compare unless classic=False)" if s in STRATEGIES else ""
            raise ConfigError(f"strategy {s!r} is not one of {', '.join((*NEURAL, AUTO))}{why}.")
    for a in adapt:
        if a not in ("none", "task"):
            raise ConfigError(f"adapt {a!r} is not one of none, task.")
    for a in augment:
        if a not in ("none", "eda", "mlm", "mention") or (a == "mention" and task != "ner"):
            raise ConfigError(f"augment {a!r} is not one of none, eda, mlm{', mention' if task == 'ner' else ''} "
                              f"(mention is for ner).")
    if "mlm" in augment and (training is None or training.augment_model is None):
        raise ConfigError("augment mlm needs the training option augment_model= (a checkpoint with a masked-LM head).")
    fractions = sorted({float(f) for f in train_fractions})
    if any(not 0 < f <= 1 for f in fractions):
        raise ConfigError(f"train fractions must be in (0, 1]; got {fractions}.")
    if validation is None or test is None:
        raise ConfigError("compare needs validation data (early stopping, thresholds) and test data (the scores).")
    out = Path(output_dir)
    columns = dict(text_column=text_column, label_column=label_column, tokens_column=tokens_column,
                   tags_column=tags_column)
    splits = _read_splits(task, {"train": train, "validation": validation, "test": test}, columns)
    other = _with_task(with_task, out, columns)
    training = training or TrainConfig()
    data_hash = {n: _write_jsonl(out / "splits" / f"{n}.jsonl", rows) for n, rows in splits.items()}
    spec = {"task": task, "models": list(models), "strategies": list(strategies), "adapt": list(adapt),
            "augment": list(augment), "with_task": other, "seeds": seeds, "train_fractions": fractions,
            "classic": classic, "data": data_hash,
            "sources": {n: str(s) if isinstance(s, (str, os.PathLike)) else type(s).__name__
                        for n, s in (("train", train), ("validation", validation), ("test", test))},
            "training": dataclasses.asdict(training)}

    jobs = []
    for fraction in fractions:
        for seed in range(seeds):
            subset = _subset(splits["train"], fraction, seed, task)
            sub_path = out / "splits" / f"train-f{fraction:g}-s{seed}.jsonl"
            sub_hash = _write_jsonl(sub_path, subset)
            common = {"task": task, "fraction": fraction, "seed": seed, "train": str(sub_path),
                      "validation": str(out / "splits" / "validation.jsonl"),
                      "test": str(out / "splits" / "test.jsonl"),
                      "data": [sub_hash, data_hash["validation"], data_hash["test"]], "n_train": len(subset)}
            if classic:
                jobs.append({**common, "model": "classic", "strategy": "classic"})
            seeded = {**dataclasses.asdict(training), "seed": training.seed + seed}
            for model in models:
                for strategy in strategies:
                    for a, g in [(a, g) for a in adapt for g in augment]:
                        # adaptation continues pretraining: not for scratch; auto is one row of its own
                        if strategy != AUTO and (a == "none" or STRATEGIES[strategy].pretrained):
                            jobs.append({**common, "model": model, "strategy": row_strategy(strategy, a, g),
                                         "training": {**seeded, "adapt": a, "augment": g}})
                    if other is not None and strategy in MULTI_TASK_STRATEGIES:  # the same row on two tasks
                        jobs.append({**common, "model": model, "strategy": f"{strategy}+multi", "with": other,
                                     "training": {**seeded, "adapt": "none", "augment": "none"}})
            if AUTO in strategies:  # one row: auto chooses among all the models (and strategies) itself
                jobs.append({**common, "model": AUTO, "candidates": list(models), "strategy": AUTO,
                             "training": seeded})
    for job in jobs:
        job["fingerprint"] = _fingerprint(job)
    # The runs this compare consists of: a report never mixes in runs of an earlier, different grid.
    spec["runs"] = {run_key(j["model"], j["strategy"], j["fraction"], j["seed"]): j["fingerprint"] for j in jobs}
    atomic_write_text(out / "compare.json", json.dumps(spec, indent=2))
    failed = []
    for i, job in enumerate(jobs, 1):
        run_dir = out / "runs" / run_key(job["model"], job["strategy"], job["fraction"], job["seed"])
        label = f"[{i}/{len(jobs)}] {run_dir.name}"
        done = run_dir / "result.json"
        if done.exists() and json.loads(done.read_text()).get("fingerprint") == job["fingerprint"]:
            print(f"{label}: reused")
            continue
        started = time.perf_counter()
        print(f"{label}: running (log: {run_dir / 'log.txt'})", flush=True)
        ok = _execute(job, run_dir, label)
        if not ok:
            failed.append(run_dir.name)
        print(f"{label}: {'done' if ok else 'FAILED, see ' + str(run_dir / 'log.txt')} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    summary = write_compare_outputs(out)
    summary["failed"] = failed
    return summary


def _execute(job: dict, run_dir: Path, label: str) -> bool:
    """One run in its own process, its epoch lines echoed as they come; True when it wrote
    result.json."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "result.json").unlink(missing_ok=True)
    atomic_write_text(run_dir / "job.json", json.dumps(job, indent=2))
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):  # each run is a single process of its own
        env.pop(var, None)
    with open(run_dir / "log.txt", "w", encoding="utf-8") as log:
        worker = subprocess.Popen([sys.executable, "-m", "nlptransfer.comparison.worker", str(run_dir / "job.json")],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        for line in worker.stdout:
            log.write(line)
            if line.startswith(("epoch ", "early stopping")):
                print(f"    {label}: {line.strip()}", flush=True)
        code = worker.wait()
    return code == 0 and (run_dir / "result.json").exists()

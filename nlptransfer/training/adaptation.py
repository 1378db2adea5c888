"""Domain- and task-adaptive pretraining (Gururangan et al. 2020): continue a checkpoint's own
pretraining objective on unlabelled text before fine-tuning. Masked LM for encoders, causal LM
for decoders (``lm_objective``), through the one training loop (progress bar, checkpoints,
resume, several processes), written out as an ordinary Hugging Face folder that ``model=`` accepts.

    FOLDER/config.json, model.safetensors, tokenizer files   the adapted checkpoint, LM head included
    FOLDER/adaptation.json    base model, objective, corpus digest, epochs, held-out LM loss before/after
    FOLDER/metrics.jsonl, checkpoints/                       the loop's log and (when asked) its checkpoints
    FOLDER/head_warmup.json   a fresh LM head's warm-up (below), kept for a resumed run

A checkpoint that ships without its LM head (a sentence encoder such as all-MiniLM-L6-v2) gets a
fresh one, and the head alone is trained first (``head_warmup``), as LP-FT does for classifiers:
gradients through a random head would move the encoder towards noise.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

from ..atomic_files import atomic_write_text
from ..errors import ConfigError, DataError
from ..models.pretrained import load_language_model, load_tokenizer, max_input_length, model_architecture
from .checkpoints import resolve_checkpoint
from .lm_objective import LanguageModelCollator, LanguageModelNet, corpus_rows, lm_loss, lm_loss_fn
from .loop import train_model
from .processes import process_state

__all__ = ["adapt", "ADAPT_LEARNING_RATE", "AdaptResult", "adapt_language_model", "read_corpus", "task_backbone",
           "ADAPTATION_FILE"]

ADAPT_LEARNING_RATE = 5e-5  # transformers' run_mlm.py / run_clm.py default for continued pretraining
ADAPTATION_FILE = "adaptation.json"
# The fresh head's warm-up: at least this many optimizer steps at this rate (whole epochs). On
# all-MiniLM-L6-v2 and 400 Rotten Tomatoes sentences, 50 steps took the held-out masked-LM loss
# from 10.7 to 7.3, and one epoch of adaptation after it ended at 7.28 against 7.72 without
# (3 seeds, every one lower; bench/adapt_head.py, BENCHMARKS.md).
HEAD_WARMUP_STEPS, HEAD_WARMUP_LR = 50, 1e-3
HEAD_WARMUP_FILE = "head_warmup.json"


@dataclass
class AdaptResult:
    folder: Path
    objective: str  # "masked LM" or "causal LM"
    held_out_loss_before: float | None
    held_out_loss_after: float | None
    train_texts: int
    optimizer_steps: int
    seconds: float
    new_head: list[str]  # LM-head weights the checkpoint did not ship (initialised, see load_language_model)
    head_warmup: dict | None = None  # steps, learning_rate, held_out_loss after the fresh head's warm-up


def _warm_up_head(net, new_head: list[str], rows, held, collate, config, accelerator, out: Path) -> dict:
    """Train only the fresh head tensors (the rest frozen), then unfreeze all. Recorded in
    ``out/HEAD_WARMUP_FILE``, so that a resumed run, whose checkpoints hold the warmed-up head
    already, skips it and still reports it."""
    saved = out / HEAD_WARMUP_FILE
    if resolve_checkpoint(config.resume_from_checkpoint, out / "checkpoints") is not None and saved.exists():
        return json.loads(saved.read_text())
    fresh = set(new_head)
    params = dict(net.lm.named_parameters())  # a tied output layer is listed once, as the input embeddings
    for name, p in params.items():
        p.requires_grad_(name in fresh)
    per_epoch = math.ceil(len(rows) / (config.batch_size * config.gradient_accumulation_steps
                                       * accelerator.num_processes))
    phase = dataclasses.replace(config, epochs=max(1, math.ceil(HEAD_WARMUP_STEPS / per_epoch)),
                                resume_from_checkpoint=None, checkpoint_every_steps=None, checkpoint_every_epoch=False)
    result = train_model(net, rows, collate, config=phase, learning_rate=HEAD_WARMUP_LR, accelerator=accelerator,
                         loss_fn=lm_loss_fn(collate.causal), description="head", run_dir=None)
    for p in params.values():
        p.requires_grad_(True)
    accelerator.free_memory()  # drop the head-only wrapper (DDP) before the whole model is prepared
    record = {"tensors": sorted(fresh & params.keys()), "steps": result.optimizer_steps,
              "learning_rate": HEAD_WARMUP_LR,
              "held_out_loss": lm_loss(net, held, collate, accelerator.device, config.batch_size) if held else None}
    if process_state().is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(saved, json.dumps(record, indent=2))
    return record


def adapt_language_model(model: str, texts: list[str], output_dir, config, *, accelerator,
                         held_out: list[str] | None = None, learning_rate: float | None = None) -> AdaptResult:
    """Continue pretraining ``model`` on ``texts`` and save it to ``output_dir``.

    ``config`` is a ``TrainConfig``: epochs (none: chosen from the data as for fine-tuning),
    batch_size, max_length, seed, progress and the checkpoint options apply; ``held_out`` texts
    measure the LM loss before and after. ``accelerator`` drives the loop (several processes
    included); the main process writes the folder.
    """
    if not texts:
        raise DataError("adaptation needs at least one text.")
    out = Path(output_dir)
    model_type, arch = model_architecture(model)
    tokenizer = load_tokenizer(model, arch)
    objective = "causal LM" if arch.decoder else "masked LM"
    if not arch.decoder and tokenizer.mask_token is None:
        raise ConfigError(f"{model!r} is an encoder whose tokenizer has no mask token: masked-LM adaptation "
                          f"needs one.")
    limit = max_input_length(model, arch, tokenizer)
    if limit is not None and config.max_length > limit:
        raise ConfigError(f"max_length={config.max_length} is more than {model!r} takes ({limit} tokens); use "
                          f"max_length={limit} or less (longer texts are read in windows).")
    lm, new_head = load_language_model(model, arch, tokenizer.pad_token_id)
    if new_head:
        accelerator.print(f"{model} ships no {objective} head: the output layer is tied to the input embeddings and "
                          f"{len(new_head)} head tensor(s) start fresh ({', '.join(new_head[:3])}"
                          f"{', ...' if len(new_head) > 3 else ''})")
    collate = LanguageModelCollator(tokenizer, arch.decoder, config.seed)
    rows = corpus_rows(tokenizer, texts, config.max_length)
    held = corpus_rows(tokenizer, held_out, config.max_length) if held_out else None
    lm.to(accelerator.device)
    net = LanguageModelNet(lm, None if arch.decoder else rows[0]["input_ids"])
    before = lm_loss(net, held, collate, accelerator.device, config.batch_size) if held else None
    phase = dataclasses.replace(config, early_stopping_patience=None, layerwise_lr_decay=None,
                                head_learning_rate=None, gradient_checkpointing=False)
    accelerator.print(f"adapt: {objective} on {len(texts)} texts ({len(rows)} windows of at most {config.max_length} "
                      f"tokens)" + (f"; held-out {objective} loss {before:.4f}" if before is not None else ""))
    started = time.perf_counter()
    warmup = _warm_up_head(net, new_head, rows, held, collate, phase, accelerator, out) if new_head else None
    if warmup is not None:
        accelerator.print(f"adapt: the fresh head trained alone for {warmup['steps']} steps at "
                          f"{warmup['learning_rate']:g}" + (f"; held-out {objective} loss {warmup['held_out_loss']:.4f}"
                                                            if warmup["held_out_loss"] is not None else ""))
    lr = learning_rate or ADAPT_LEARNING_RATE
    result = train_model(net, rows, collate, config=phase, learning_rate=lr, accelerator=accelerator,
                         loss_fn=lm_loss_fn(arch.decoder), description="adapt", run_dir=out,
                         identity={"model": model, "objective": objective})
    seconds = time.perf_counter() - started
    after = lm_loss(net, held, collate, accelerator.device, config.batch_size) if held else None
    if after is not None:
        accelerator.print(f"adapt: held-out {objective} loss {before:.4f} -> {after:.4f}")
    done = AdaptResult(out, objective, before, after, len(texts), result.optimizer_steps, seconds, new_head, warmup)
    state = process_state()
    if state.is_main_process:
        lm.save_pretrained(out)
        tokenizer.save_pretrained(out)
        record = {"base_model": model, "model_type": model_type, "objective": objective,
                  "corpus": corpus_digest(texts), "seed": config.seed, "max_length": config.max_length,
                  "epochs_asked": config.epochs, "epochs": len(result.history),
                  "optimizer_steps": result.optimizer_steps, "learning_rate": lr, "train_texts": len(texts),
                  "train_windows": len(rows), "held_out_texts": len(held_out or []), "held_out_loss_before": before,
                  "held_out_loss_after": after, "seconds": round(seconds, 1), "new_head": new_head,
                  "head_warmup": warmup}
        atomic_write_text(out / ADAPTATION_FILE, json.dumps(record, indent=2))  # written last: the folder is done
    state.wait_for_everyone()
    return done


def corpus_digest(texts: list[str]) -> str:
    return hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:16]


def read_corpus(source: str | Path, text_column: str = "text") -> list[str]:
    """Unlabelled texts: a .txt file (one text per line, blank lines skipped) or a CSV/TSV/JSONL
    file's ``text_column`` (read and checked like training data)."""
    from ..data.source_files import lines_of, read_source_text
    from ..data.text_table import read_text_table

    path = Path(source)
    if path.name.lower().endswith((".txt", ".txt.gz")):
        text = read_source_text(path, f"corpus file '{path}'", needs="one text per line")
        return [line for line in lines_of(text) if line.strip()]  # not all blank: read_source_text checked
    return read_text_table(path, text_column, None, name="corpus").texts


def adapt(model: str, texts, output_dir, *, training=None, text_column: str = "text", held_out: float = 0.05,
          overwrite: bool = False) -> AdaptResult:
    """Domain-adaptive pretraining: continue ``model``'s pretraining on unlabelled ``texts`` (a list
    of strings, a .txt file with one text per line, or a CSV/TSV/JSONL file's ``text_column``) and
    write an ordinary model folder to ``output_dir``, usable as ``model=output_dir`` everywhere.

    ``training`` (a ``TrainConfig``): epochs, batch_size, max_length, learning_rate (default
    ``ADAPT_LEARNING_RATE``), seed and the checkpoint options (``resume_from_checkpoint="latest"``
    continues an interrupted run). ``held_out``: the share of texts (at most 500) kept aside to
    measure the LM loss before and after; none below 20 texts.
    """
    import shutil

    import numpy as np
    from accelerate.utils import set_seed

    from ..config import TrainConfig
    from .processes import describe_processes, make_accelerator

    config = training or TrainConfig()
    out = Path(output_dir)
    texts = read_corpus(texts, text_column) if isinstance(texts, (str, Path)) else list(texts)
    if not texts:
        raise DataError("adapt needs at least one text.")
    for i, text in enumerate(texts):
        if not (isinstance(text, str) and text.strip()):
            raise DataError(f"adapt needs non-empty strings; text {i} is {text!r}.")
    if not 0 <= held_out < 1:
        raise ConfigError(f"held_out must be a share in [0, 1); got {held_out!r}.")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output_dir {str(out)!r} is a file; give a folder for the adapted model.")
    state = process_state()
    if out.exists() and any(out.iterdir()) and config.resume_from_checkpoint is None:
        if not overwrite:
            raise ConfigError(f"output_dir {str(out)!r} is not empty. Continue an interrupted adaptation with "
                              f"--resume-from-checkpoint latest, choose another folder, or pass --overwrite.")
        if state.is_main_process:
            shutil.rmtree(out)
        state.wait_for_everyone()
    n_held = min(500, round(held_out * len(texts))) if len(texts) >= 20 else 0
    order = np.random.default_rng(config.seed).permutation(len(texts))
    held = [texts[i] for i in sorted(order[:n_held])]
    train = [texts[i] for i in sorted(order[n_held:])]
    accelerator = make_accelerator(config, out)
    set_seed(config.seed + accelerator.process_index)
    accelerator.print(describe_processes(config))
    return adapt_language_model(model, train, out, config, accelerator=accelerator, held_out=held or None,
                                learning_rate=config.learning_rate)


def task_backbone(run, train_texts: list[str], validation_texts: list[str] | None, accelerator,
                  run_dir: Path) -> tuple[str, float]:
    """``(checkpoint, seconds)``: what a run builds its task model from and the time adapting it
    took (counted as training time). The checkpoint is ``run.model`` itself, or with
    ``adapt=task`` that model after task-adaptive pretraining on the run's own training texts
    (validation texts, when given, measure the held-out LM loss), in ``run_dir/adapted``. A
    finished adaptation of the same model, texts and settings there is reused (resuming a run)."""
    cfg = run.training
    if cfg.adapt == "none":
        return run.model, 0.0
    folder = run_dir / "adapted"
    record = folder / ADAPTATION_FILE
    wanted = {"base_model": run.model, "corpus": corpus_digest(train_texts), "seed": cfg.seed,
              "max_length": cfg.max_length, "epochs_asked": cfg.adapt_epochs}
    if record.exists() and all(json.loads(record.read_text()).get(k) == v for k, v in wanted.items()):
        accelerator.print(f"adapt=task: reusing the adapted checkpoint in {folder}")
        return str(folder), float(json.loads(record.read_text())["seconds"])
    phase = dataclasses.replace(cfg, epochs=cfg.adapt_epochs, resume_from_checkpoint="latest"
                                if cfg.resume_from_checkpoint is not None else None)
    done = adapt_language_model(run.model, train_texts, folder, phase, accelerator=accelerator,
                                held_out=validation_texts)
    return str(folder), done.seconds

"""Domain- and task-adaptive pretraining (Gururangan et al. 2020): continue a checkpoint's own
pretraining objective on unlabelled text before fine-tuning. Masked LM for encoders, causal LM
for decoders, through the one training loop (progress bar, checkpoints, resume, several
processes), written out as an ordinary Hugging Face folder that ``model=`` accepts.

    FOLDER/config.json, model.safetensors, tokenizer files   the adapted checkpoint, LM head included
    FOLDER/adaptation.json    base model, objective, corpus digest, epochs, held-out LM loss before/after
    FOLDER/metrics.jsonl, checkpoints/                       the loop's log and (when asked) its checkpoints

Masking is transformers' ``DataCollatorForLanguageModeling`` (80/10/10 replacement of 15% of the
tokens), seeded per batch from the run's seed and the batch's rows: a batch masks the same way
whenever it is drawn, so a resumed run repeats the interrupted one exactly, while every epoch
(a new batch composition) masks afresh, as RoBERTa's dynamic masking does.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import DataCollatorForLanguageModeling

from ..atomic_files import atomic_write_text
from ..data.batching import encode_texts
from ..errors import ConfigError, DataError
from ..models.pretrained import load_language_model, load_tokenizer, max_input_length, model_architecture
from .losses import NextTokenCrossEntropy, SummedCrossEntropy
from .loop import train_model
from .processes import process_state

__all__ = ["adapt", "ADAPT_LEARNING_RATE", "AdaptResult", "adapt_language_model", "read_corpus", "task_backbone",
           "ADAPTATION_FILE"]

ADAPT_LEARNING_RATE = 5e-5  # transformers' run_mlm.py / run_clm.py default for continued pretraining
MASK_PROBABILITY = 0.15
ADAPTATION_FILE = "adaptation.json"


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


class _LanguageModel(nn.Module):
    """The loop calls ``model(input_ids=, attention_mask=)`` and wants logits; the layer map's
    ``layer_spec`` is not needed (no layer-wise rates while adapting)."""

    def __init__(self, lm: nn.Module):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, attention_mask):
        return self.lm(input_ids=input_ids, attention_mask=attention_mask).logits


class _LanguageModelCollator:
    """Pads a batch and makes its LM targets. Rows arrive as ``{"input_ids", "labels": row number}``
    (the row number only seeds the mask). Causal: every real token is a target."""

    def __init__(self, tokenizer, causal: bool, seed: int):
        self.tokenizer, self.causal, self.seed = tokenizer, causal, seed

    def __call__(self, rows: list[dict]) -> dict:
        batch_seed = int(hashlib.sha256(json.dumps([self.seed, [r["labels"] for r in rows]]).encode())
                         .hexdigest()[:15], 16)
        examples = [{"input_ids": r["input_ids"], "attention_mask": [1] * len(r["input_ids"])} for r in rows]
        collate = DataCollatorForLanguageModeling(self.tokenizer, mlm=not self.causal,
                                                  mlm_probability=MASK_PROBABILITY, seed=batch_seed)
        batch = collate(examples)
        if self.causal:  # pad == eos for most decoders: the mask, not the id, says what is padding
            batch["labels"] = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        return batch


def _corpus_rows(tokenizer, texts: list[str], max_length: int):
    """Token rows of the texts; a long text becomes several overlapping windows (none is cut off).
    Each row's label is its row number, which seeds its mask."""
    rows = encode_texts(tokenizer, texts, max_length, long_texts="chunks")
    rows.labels = list(range(len(rows)))
    return rows


@torch.no_grad()
def _lm_loss(model, rows, collate, device, batch_size: int) -> float:
    """Mean LM loss per target token over ``rows`` (fixed masks: the same before and after)."""
    loss_fn = NextTokenCrossEntropy() if collate.causal else SummedCrossEntropy()
    model.eval()
    total = weight = 0.0
    for start in range(0, len(rows), batch_size):
        chunk = [rows[i] for i in range(start, min(start + batch_size, len(rows)))]
        batch = {k: v.to(device) for k, v in collate(chunk).items()}
        labels = batch.pop("labels")
        total += float(loss_fn(model(**batch), labels))
        weight += float(loss_fn.weight(labels))
    return total / max(weight, 1.0)


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
    net = _LanguageModel(lm)
    collate = _LanguageModelCollator(tokenizer, arch.decoder, config.seed)
    rows = _corpus_rows(tokenizer, texts, config.max_length)
    held = _corpus_rows(tokenizer, held_out, config.max_length) if held_out else None
    net.to(accelerator.device)
    before = _lm_loss(net, held, collate, accelerator.device, config.batch_size) if held else None
    phase = dataclasses.replace(config, early_stopping_patience=None, layerwise_lr_decay=None,
                                head_learning_rate=None, gradient_checkpointing=False)
    accelerator.print(f"adapt: {objective} on {len(texts)} texts ({len(rows)} windows of at most {config.max_length} "
                      f"tokens)" + (f"; held-out {objective} loss {before:.4f}" if before is not None else ""))
    started = time.perf_counter()
    loss_fn = NextTokenCrossEntropy() if arch.decoder else SummedCrossEntropy()
    lr = learning_rate or ADAPT_LEARNING_RATE
    result = train_model(net, rows, collate, config=phase, learning_rate=lr, accelerator=accelerator, loss_fn=loss_fn,
                         description="adapt", run_dir=out, identity={"model": model, "objective": objective})
    seconds = time.perf_counter() - started
    after = _lm_loss(net, held, collate, accelerator.device, config.batch_size) if held else None
    if after is not None:
        accelerator.print(f"adapt: held-out {objective} loss {before:.4f} -> {after:.4f}")
    done = AdaptResult(out, objective, before, after, len(texts), result.optimizer_steps, seconds, new_head)
    state = process_state()
    if state.is_main_process:
        lm.save_pretrained(out)
        tokenizer.save_pretrained(out)
        record = {"base_model": model, "model_type": model_type, "objective": objective,
                  "corpus": corpus_digest(texts), "seed": config.seed, "max_length": config.max_length,
                  "epochs_asked": config.epochs, "epochs": len(result.history),
                  "optimizer_steps": result.optimizer_steps, "learning_rate": lr, "train_texts": len(texts),
                  "train_windows": len(rows), "held_out_texts": len(held_out or []), "held_out_loss_before": before,
                  "held_out_loss_after": after, "seconds": round(seconds, 1), "new_head": new_head}
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
        where = f"corpus file '{path}'"
        try:
            text = read_source_text(path, where)
        except DataError as e:  # its "empty" message speaks of a header row: not what a .txt corpus needs
            if "is empty" not in str(e):
                raise
            text = ""
        texts = [line for line in lines_of(text) if line.strip()]
        if not texts:
            raise DataError(f"{where} is empty or blank; it needs one text per line.")
        return texts
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
    if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        bad = next((i for i, t in enumerate(texts) if not (isinstance(t, str) and t.strip())), 0)
        raise DataError(f"adapt needs non-empty strings; text {bad} is {texts[bad]!r}." if texts else
                        "adapt needs at least one text.")
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

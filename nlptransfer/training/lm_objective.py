"""The language-model objectives that adaptation continues: masked LM for encoders, causal LM
for decoders. What the loop trains (``LanguageModelNet``), its batches (``LanguageModelCollator``)
and losses, and the held-out loss measured before and after.

Masking is transformers' ``DataCollatorForLanguageModeling`` (80/10/10 replacement of 15% of the
tokens), seeded per batch from the run's seed and the batch's rows: a batch masks the same way
whenever it is drawn, so a resumed run repeats the interrupted one exactly, while every epoch
(a new batch composition) masks afresh, as RoBERTa's dynamic masking does.
"""
from __future__ import annotations

import hashlib
import json

import torch
from torch import nn
from transformers import DataCollatorForLanguageModeling

from ..data.batching import encode_texts
from .losses import IGNORE_INDEX, NextTokenCrossEntropy, SummedCrossEntropy

__all__ = ["LanguageModelNet", "LanguageModelCollator", "MaskedTokenCrossEntropy", "corpus_rows", "lm_loss",
           "lm_loss_fn", "MASK_PROBABILITY"]

MASK_PROBABILITY = 0.15


def lm_loss_fn(causal: bool) -> SummedCrossEntropy:
    return NextTokenCrossEntropy() if causal else MaskedTokenCrossEntropy()


class LanguageModelNet(nn.Module):
    """The loop calls ``model(input_ids=, attention_mask=, predict_at=)`` and wants logits.

    Masked LM scores only the masked positions (``predict_at``, about 15%), so the output layer,
    a vocabulary-sized matrix product that is most of a small encoder's step, runs only there.
    transformers' masked-LM models compute it at every position; where a model is its base model
    plus one per-position head module (BERT, RoBERTa, MPNet, ...), checked once on a real input,
    the head runs on the masked positions alone. Elsewhere all logits are computed, then selected.
    """

    def __init__(self, lm: nn.Module, sample_ids: list[int] | None):
        super().__init__()
        self.lm = lm
        self.body = self.head = None
        if sample_ids:
            self.body, self.head = per_position_head(lm, sample_ids)

    def forward(self, input_ids, attention_mask, predict_at=None):
        if predict_at is None:  # causal LM: every position predicts the next token
            return self.lm(input_ids=input_ids, attention_mask=attention_mask).logits
        if self.head is None:
            return self.lm(input_ids=input_ids, attention_mask=attention_mask).logits[predict_at]
        return self.head(self.body(input_ids=input_ids, attention_mask=attention_mask)[0][predict_at])


@torch.no_grad()
def per_position_head(lm: nn.Module, sample_ids: list[int]):
    """``(base model, head)`` when ``lm`` is exactly those two and the head alone reproduces its
    logits on ``sample_ids``; ``(None, None)`` otherwise."""
    base = lm.base_model
    others = [module for _, module in lm.named_children() if module is not base]
    if len(others) != 1:
        return None, None
    training = lm.training
    lm.eval()  # no dropout: the two paths must agree exactly
    ids = torch.tensor([sample_ids], device=next(lm.parameters()).device)
    mask = torch.ones_like(ids)
    try:
        agrees = torch.allclose(lm(input_ids=ids, attention_mask=mask).logits,
                                others[0](base(input_ids=ids, attention_mask=mask)[0]), atol=1e-5)
    except Exception:  # a head that needs more than the hidden states (e.g. an attention mask)
        agrees = False
    lm.train(training)
    return (base, others[0]) if agrees else (None, None)


class MaskedTokenCrossEntropy(SummedCrossEntropy):
    """Masked LM: the model scored only the masked positions, in row-major order, which are the
    positions whose label is not ``IGNORE_INDEX``."""

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return super().__call__(logits, labels[labels != IGNORE_INDEX])


class LanguageModelCollator:
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
            batch["labels"] = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, IGNORE_INDEX)
        else:
            batch["predict_at"] = batch["labels"] != IGNORE_INDEX
        return batch


def corpus_rows(tokenizer, texts: list[str], max_length: int):
    """Token rows of the texts; a long text becomes several overlapping windows (none is cut off).
    Each row's label is its row number, which seeds its mask."""
    rows = encode_texts(tokenizer, texts, max_length, long_texts="chunks")
    rows.labels = list(range(len(rows)))
    return rows


@torch.no_grad()
def lm_loss(model, rows, collate, device, batch_size: int) -> float:
    """Mean LM loss per target token over ``rows`` (fixed masks: the same before and after)."""
    loss_fn = lm_loss_fn(collate.causal)
    model.eval()
    total = weight = 0.0
    for start in range(0, len(rows), batch_size):
        chunk = [rows[i] for i in range(start, min(start + batch_size, len(rows)))]
        batch = {k: v.to(device) for k, v in collate(chunk).items()}
        labels = batch.pop("labels")
        total += float(loss_fn(model(**batch), labels))
        weight += float(loss_fn.weight(labels))
    return total / max(weight, 1.0)

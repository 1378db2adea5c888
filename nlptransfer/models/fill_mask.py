"""Contextual word substitution for ``augment=mlm``: a masked LM proposes a replacement for each
chosen word from the words around it (Kobayashi 2018; Wu et al. 2019), sampled from its top few.

Written here rather than through ``pipeline("fill-mask")``: the pipeline scores one text at a
time and returns sub-word pieces; we batch every text of a copy at once and keep only candidates
that are whole words, which is what keeps NER tags aligned (one word in, one word out).
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import ConfigError
from .pretrained import load_language_model, load_tokenizer, model_architecture

__all__ = ["MaskedWordFiller"]

TOP_K = 5  # candidates a replacement is drawn from, after dropping sub-words and the original
BATCH = 32


class MaskedWordFiller:
    """``filler(sentences, positions, rng)``: each sentence (a list of words) with the words at its
    ``positions`` masked together and each replaced by a whole word drawn from the model's top
    ``TOP_K`` for it (never the word itself); a word without such a candidate stays."""

    def __init__(self, name: str, max_length: int = 128):
        _, arch = model_architecture(name)
        if arch.decoder:
            raise ConfigError(f"augment_model={name!r} is a decoder; augment=mlm needs an encoder with a masked-LM "
                              f"head (e.g. a folder written by `nlptransfer adapt`).")
        self.tokenizer = load_tokenizer(name, arch)
        if self.tokenizer.mask_token is None:
            raise ConfigError(f"augment_model={name!r} has no mask token; augment=mlm needs a masked LM.")
        self.model, missing = load_language_model(name, arch, self.tokenizer.pad_token_id)
        if missing:
            raise ConfigError(f"augment_model={name!r} ships no masked-LM head ({', '.join(missing[:3])} would start "
                              f"random, so its suggestions would be noise). Adapt it first (`nlptransfer adapt "
                              f"--model {name} --texts ... --output-dir adapted/`) and pass augment_model=adapted/, "
                              f"or choose a checkpoint that ships its MLM head.")
        self.model.eval()
        self.max_length = max_length
        vocab = self.tokenizer.convert_ids_to_tokens(list(range(len(self.tokenizer))))
        # Which vocabulary entries start a word: WordPiece marks continuations ("##ing"), byte-level
        # BPE and SentencePiece mark starts ("Ġword", "▁word").
        starts = next((m for m in ("Ġ", "▁") if sum(t.startswith(m) for t in vocab) > len(vocab) // 10), None)
        special = set(self.tokenizer.all_special_ids)
        self.words = {i: t.removeprefix(starts) if starts else t for i, t in enumerate(vocab)
                      if i not in special and (t.startswith(starts) if starts else not t.startswith("##"))}
        self.words = {i: w for i, w in self.words.items() if any(c.isalnum() for c in w)}

    @torch.no_grad()
    def __call__(self, sentences: list[list[str]], positions: list[list[int]],
                 rng: np.random.Generator) -> list[list[str]]:
        out = [list(words) for words in sentences]
        mask = self.tokenizer.mask_token
        for start in range(0, len(sentences), BATCH):
            chunk = range(start, min(start + BATCH, len(sentences)))
            chosen = [set(positions[i]) for i in chunk]
            texts = [" ".join(mask if j in chosen[k] else w for j, w in enumerate(sentences[i]))
                     for k, i in enumerate(chunk)]
            enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                                 return_tensors="pt")
            logits = self.model(**{k: v.to(self.model.device) for k, v in enc.items()}).logits
            for row, i in enumerate(chunk):
                masked = (enc["input_ids"][row] == self.tokenizer.mask_token_id).nonzero().flatten().tolist()
                # A mask cut off by truncation keeps its word: positions and masks pair up in order.
                for j, at in zip(sorted(positions[i]), masked):
                    original = sentences[i][j].lower()
                    ranked = logits[row, at].argsort(descending=True).tolist()
                    found = [self.words[t] for t in ranked[:200] if t in self.words
                             and self.words[t].lower() != original][:TOP_K]
                    if found:
                        out[i][j] = found[rng.integers(len(found))]
        return out

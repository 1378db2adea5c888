"""Words to sub-word windows and back, for token classification.

Alignment goes through the fast tokenizer's ``word_ids()``: the first sub-token of each word
carries the word's label, the others get -100 and are ignored by the loss and by evaluation, so
sub-tokens never count as extra entities (transformers #14043). A sentence longer than the model's
maximum length is split into overlapping windows of whole words; every word is predicted exactly
once, by the window in which it has the most context on both sides. Nothing is truncated
silently: only a single word longer than a whole window loses its trailing sub-tokens, and its
first sub-token, which carries its prediction, is always kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import Dataset

from ..errors import DataError
from .tagged_table import TaggedTable

__all__ = ["Window", "WindowDataset", "encode_words", "encode_tagged", "tag_collator", "plan_windows", "word_logits",
           "sentence_logits", "IGNORE"]

IGNORE = -100


def plan_windows(counts: list[int], budget: int, overlap: int) -> list[tuple[int, int]]:
    """Word ranges [start, end) whose sub-token counts fit ``budget``; consecutive windows share
    up to ``overlap`` words."""
    windows, start, n = [], 0, len(counts)
    while True:
        end, used = start, 0
        while end < n and used + counts[end] <= budget:
            used, end = used + counts[end], end + 1
        end = max(end, start + 1)  # a word longer than the whole budget still gets a window
        windows.append((start, end))
        if end >= n:
            return windows
        start = max(end - overlap, start + 1)


def _owner(windows: list[tuple[int, int]], n_words: int) -> list[int]:
    """For each word, the window where it is farthest from an edge (the most context)."""
    best = [(-1, 0)] * n_words
    for k, (start, end) in enumerate(windows):
        for w in range(start, end):
            margin = min(w - start, end - 1 - w)
            if margin > best[w][0]:
                best[w] = (margin, k)
    return [k for _, k in best]


@dataclass
class Window:
    sentence: int
    input_ids: list[int]
    labels: list[int]  # per token: the word's tag id on first sub-tokens, IGNORE elsewhere
    owned: list[tuple[int, int]]  # (token position, word index) of the words this window predicts


class WindowDataset(Dataset):
    def __init__(self, windows: list[Window], sentence_lengths: list[int]):
        self.windows = windows
        self.sentence_lengths = sentence_lengths

    def __len__(self):
        return len(self.windows)

    @property
    def lengths(self) -> list[int]:
        return [len(w.input_ids) for w in self.windows]

    @property
    def labels(self):
        return [w.labels for w in self.windows]

    @property
    def feature_labels(self) -> list[int]:
        """The tag id of each word, in sentence and word order: the rows that word-feature
        extraction returns."""
        words = [[0] * n for n in self.sentence_lengths]
        for w in self.windows:
            for position, word in w.owned:
                words[w.sentence][word] = w.labels[position]
        return [tag for sentence in words for tag in sentence]

    def __getitem__(self, i):
        w = self.windows[i]
        return {"input_ids": w.input_ids, "attention_mask": [1] * len(w.input_ids), "labels": w.labels}


def _window(tokenizer, words, tag_ids, sentence, start, end, owners, k, max_length) -> Window:
    enc = tokenizer(words[start:end], is_split_into_words=True, truncation=True, max_length=max_length)
    labels, owned, previous = [], [], None
    for position, word in enumerate(enc.word_ids()):
        first = word is not None and word != previous
        previous = word
        if not first:
            labels.append(IGNORE)
            continue
        index = start + word
        labels.append(tag_ids[index] if tag_ids is not None else 0)
        if owners[index] == k:
            owned.append((position, index))
    return Window(sentence, enc["input_ids"], labels, owned)


def _placeholder(tokenizer) -> str:
    """What stands in for a word the tokenizer deletes entirely (a zero-width space, a lone accent
    in a pre-split corpus): the unknown token, so the word keeps its one tag."""
    return tokenizer.unk_token or tokenizer.eos_token or "."


def encode_words(tokenizer, sentences: list[list[str]], max_length: int, overlap: int,
                 tag_ids: list[list[int]] | None = None, source: str = "input") -> WindowDataset:
    """Windows of every sentence; each word is owned by exactly one window. ``source`` names the
    data in the (unexpected) error that a word still has no sub-token."""
    specials = tokenizer.num_special_tokens_to_add(pair=False)
    whole = tokenizer(sentences, is_split_into_words=True, truncation=False)
    windows, lengths = [], [len(w) for w in sentences]
    for s, words in enumerate(sentences):
        counts = [0] * len(words)
        for word in whole.word_ids(s):
            if word is not None:
                counts[word] += 1
        if 0 in counts:
            words = [w if c else _placeholder(tokenizer) for w, c in zip(words, counts)]
            counts = [max(c, 1) for c in counts]
        spans = plan_windows(counts, max(max_length - specials, 1), overlap)
        owners = _owner(spans, len(words))
        tags = tag_ids[s] if tag_ids is not None else None
        windows += [_window(tokenizer, words, tags, s, a, b, owners, k, max_length) for k, (a, b) in enumerate(spans)]
    dataset = WindowDataset(windows, lengths)
    owned = [set() for _ in sentences]
    for window in windows:
        owned[window.sentence].update(word for _, word in window.owned)
    for s, words in enumerate(sentences):
        if len(owned[s]) != len(words):
            i = min(set(range(len(words))) - owned[s])
            raise DataError(f"{source}, sentence {s + 1}, word {i + 1} ({words[i]!r}): the tokenizer gives it no "
                            f"sub-token to predict it from.")
    return dataset


def sentence_logits(logits: torch.Tensor, dataset: WindowDataset) -> list[torch.Tensor]:
    """Per sentence a (words, labels) tensor, from token logits (windows, tokens, labels) or from
    the word rows of cached features (words, labels)."""
    if logits.ndim == 3:
        return word_logits(logits, dataset)
    return list(torch.split(logits, dataset.sentence_lengths))


def word_logits(token_logits: torch.Tensor, dataset: WindowDataset) -> list[torch.Tensor]:
    """(windows, tokens, labels) -> per sentence a (words, labels) tensor, in word order."""
    out = [torch.empty(n, token_logits.shape[-1]) for n in dataset.sentence_lengths]
    for row, window in enumerate(dataset.windows):
        for position, word in window.owned:
            out[window.sentence][word] = token_logits[row, position]
    return out


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

"""More out of few labels: augmented copies of the training examples, offline and seeded, for the
training split only (validation and test are never touched).

``eda``: Wei & Zou (2019)'s random swap, deletion and insertion of words, one operation per copy
on about ``EDA_ALPHA`` of the words. Their fourth operation, synonym replacement, needs a thesaurus
(WordNet), which is neither a dependency nor available offline; it is left out. For NER the
operations touch only words tagged ``O`` and never split a mention, so every copy is valid IOB2.
``mention`` (NER): Dai & Adel (2020)'s mention replacement: each entity mention is replaced, with
probability ``MENTION_RATE``, by another training mention of the same type.
``mlm``: contextual substitution: about ``MLM_RATE`` of the words (NER: of the ``O`` words) are
masked and a masked LM (``models.fill_mask``) puts a likely whole word in each.

Written by hand: no maintained library does these offline and tag-aware (nlpaug needs WordNet or
a model download for most of its operations and knows nothing of IOB2 tags). A copy that comes out
identical to its source is dropped: it would only weight that example twice.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..atomic_files import atomic_write_text
from .tagged_table import TaggedTable

__all__ = ["augment_train", "eda_words", "replace_mentions", "AUGMENTED_FILE"]

EDA_ALPHA = 0.1  # Wei & Zou's recommended share of words changed for small training sets
MENTION_RATE = 0.5
MLM_RATE = 0.15  # share of a text's (NER: O) words a masked LM replaces per copy, as BERT's masking
AUGMENTED_FILE = "augmented-train.jsonl"
_OPERATIONS = ("swap", "delete", "insert")


def eda_words(words: list[str], rng: np.random.Generator, movable: list[bool] | None = None,
              alpha: float = EDA_ALPHA) -> tuple[list[str], list[int]]:
    """One EDA operation on ``words``: ``(new words, for each new word the index it came from)``.
    Only positions where ``movable`` is true are swapped, deleted or copied; an inserted word goes
    where ``movable`` allows it (before a movable word or at the end). Deletion never empties."""
    movable = movable if movable is not None else [True] * len(words)
    free = [i for i, ok in enumerate(movable) if ok]
    n = max(1, round(alpha * len(words)))
    order = list(range(len(words)))
    operation = _OPERATIONS[rng.integers(len(_OPERATIONS))]
    if operation == "swap" and len(free) >= 2:
        for _ in range(n):
            a, b = rng.choice(free, size=2, replace=False)
            order[a], order[b] = order[b], order[a]
    elif operation == "delete" and len(free) >= 1 and len(words) > 1:
        gone = set(rng.choice(free, size=min(n, len(free), len(words) - 1), replace=False).tolist())
        order = [i for i in order if i not in gone]
    elif operation == "insert" and free:
        for _ in range(n):
            slots = [k for k in range(len(order) + 1) if k == len(order) or movable[order[k]]]
            order.insert(int(rng.choice(slots)), int(rng.choice(free)))
    return [words[i] for i in order], order


def _mentions(tags: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, type) of each IOB2 mention."""
    spans, start = [], None
    for i, tag in enumerate([*tags, "O"]):
        if start is not None and not tag.startswith("I-"):
            spans.append((start, i, tags[start][2:]))
            start = None
        if tag.startswith("B-"):
            start = i
    return spans


def replace_mentions(words: list[str], tags: list[str], pool: dict[str, list[tuple[str, ...]]],
                     rng: np.random.Generator, rate: float = MENTION_RATE) -> tuple[list[str], list[str]]:
    """Each mention replaced, with probability ``rate``, by another mention of its type from
    ``pool`` (type -> distinct mentions); the tags follow (B- then I-)."""
    new_words, new_tags, last = [], [], 0
    for start, end, kind in _mentions(tags):
        new_words += words[last:start]
        new_tags += tags[last:start]
        others = [m for m in pool.get(kind, []) if list(m) != words[start:end]]
        chosen = list(others[rng.integers(len(others))]) if others and rng.random() < rate else words[start:end]
        new_words += chosen
        new_tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(chosen) - 1)
        last = end
    return new_words + words[last:], new_tags + tags[last:]


def _one_copy(sentences, tags, method: str, rng, pool, filler) -> list[tuple[list[str], list[str] | None]]:
    """One augmented version of every sentence: ``(words, tags)`` (tags None for texts)."""
    movable = [[t == "O" for t in ts] for ts in tags] if tags else [[True] * len(ws) for ws in sentences]
    if method == "mlm":  # all sentences at once: the model scores them in batches
        free = [[j for j, ok in enumerate(m) if ok] for m in movable]
        positions = [sorted(rng.choice(f, size=max(1, round(MLM_RATE * len(f))), replace=False).tolist()) if f
                     else [] for f in free]
        return list(zip(filler(sentences, positions, rng), tags or [None] * len(sentences)))
    out = []
    for i, words in enumerate(sentences):
        if method == "mention":
            out.append(replace_mentions(words, tags[i], pool, rng))
        else:
            new, order = eda_words(words, rng, movable[i])
            out.append((new, [tags[i][j] for j in order] if tags else None))
    return out


def _augment(sentences, tags, method: str, copies: int, rng, filler):
    """``(source index, words, tags)`` of every copy that differs from its source."""
    pool: dict[str, set] = {}
    for words, ts in zip(sentences, tags or []):
        for start, end, kind in _mentions(ts):
            pool.setdefault(kind, set()).add(tuple(words[start:end]))
    pool = {kind: sorted(found) for kind, found in pool.items()}  # sorted: the same draw on every run
    added = []
    for _ in range(copies):
        for i, (words, new_tags) in enumerate(_one_copy(sentences, tags, method, rng, pool, filler)):
            if words != sentences[i]:
                added.append((i, words, new_tags))
    return added


def augment_train(table, config, run_dir: Path | None = None, say=print, filler=None):
    """``table`` (a TextTable or TaggedTable) followed by up to ``config.augment_copies`` augmented
    copies of each example, as ``config.augment`` says (seeded by ``config.seed``; ``filler``, a
    ``MaskedWordFiller``, for mlm); the copies are written to ``run_dir/AUGMENTED_FILE`` (when
    given; by the main process) for reading."""
    from accelerate import PartialState

    method, copies = config.augment, config.augment_copies
    if method == "none":
        return table
    tagged = isinstance(table, TaggedTable)  # augment=mention is for NER only: RunConfig refuses it elsewhere
    rng = np.random.default_rng([config.seed, 1])  # its own stream: the model's seeded draws stay as they were
    sentences = table.words if tagged else [text.split() for text in table.texts]
    added = _augment(sentences, table.tags if tagged else None, method, copies, rng, filler)
    if tagged:
        augmented = replace(table, words=table.words + [w for _, w, _ in added],
                            tags=table.tags + [t for _, _, t in added])
        rows = [{"tokens": w, "tags": t, "from_sentence": i + 1} for i, w, t in added]
    else:
        augmented = replace(table, texts=table.texts + [" ".join(w) for _, w, _ in added],
                            labels=table.labels + [table.labels[i] for i, _, _ in added],
                            lines=table.lines and table.lines + [table.lines[i] for i, _, _ in added])
        rows = [{"text": " ".join(w), "label": table.labels[i], "from_row": i + 1} for i, w, _ in added]
    say(f"augment={method}: {len(rows)} augmented {'sentences' if tagged else 'texts'} added to the {len(table)} "
        f"of train ({copies} {'copy' if copies == 1 else 'copies'} each; {copies * len(table) - len(rows)} came out "
        f"unchanged and were dropped)" + (f"; written to {Path(run_dir) / AUGMENTED_FILE}" if run_dir else ""))
    if run_dir is not None and PartialState().is_main_process:
        atomic_write_text(Path(run_dir) / AUGMENTED_FILE, "".join(json.dumps(r) + "\n" for r in rows))
    return augmented

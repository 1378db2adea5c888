"""More out of few labels: augmented copies of the training examples, offline and seeded, for the
training split only (validation and test are never touched).

``eda``: Wei & Zou (2019)'s random swap, deletion and insertion of words, one operation per copy
on about ``EDA_ALPHA`` of the words. Their fourth operation, synonym replacement, needs a thesaurus
(WordNet), which is neither a dependency nor available offline; it is left out. For NER the
operations touch only words tagged ``O`` and never split a mention, so every copy is valid IOB2.
``mention`` (NER): Dai & Adel (2020)'s mention replacement: each entity mention is replaced, with
probability ``MENTION_RATE``, by another training mention of the same type.

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
from .text_table import TextTable

__all__ = ["augment_train", "eda_words", "replace_mentions", "AUGMENTED_FILE"]

EDA_ALPHA = 0.1  # Wei & Zou's recommended share of words changed for small training sets
MENTION_RATE = 0.5
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


def _augment_texts(table: TextTable, copies: int, rng) -> tuple[TextTable, list[dict]]:
    texts, labels, lines, rows = list(table.texts), list(table.labels), table.lines and list(table.lines), []
    for _ in range(copies):
        for i, text in enumerate(table.texts):
            words = text.split()
            new = " ".join(eda_words(words, rng)[0])
            if new != " ".join(words):
                texts.append(new)
                labels.append(table.labels[i])
                if lines is not None:
                    lines.append(table.lines[i])
                rows.append({"text": new, "label": table.labels[i], "from_row": i + 1})
    return replace(table, texts=texts, labels=labels, lines=lines), rows


def _augment_tagged(table: TaggedTable, method: str, copies: int, rng) -> tuple[TaggedTable, list[dict]]:
    pool: dict[str, set] = {}
    for words, tags in zip(table.words, table.tags):
        for start, end, kind in _mentions(tags):
            pool.setdefault(kind, set()).add(tuple(words[start:end]))
    pool = {kind: sorted(found) for kind, found in pool.items()}  # sorted: the same draw on every run
    all_words, all_tags, rows = list(table.words), list(table.tags), []
    for _ in range(copies):
        for i, (words, tags) in enumerate(zip(table.words, table.tags)):
            if method == "mention":
                new_words, new_tags = replace_mentions(words, tags, pool, rng)
            else:
                new_words, order = eda_words(words, rng, movable=[t == "O" for t in tags])
                new_tags = [tags[j] for j in order]
            if new_words != words:
                all_words.append(new_words)
                all_tags.append(new_tags)
                rows.append({"tokens": new_words, "tags": new_tags, "from_sentence": i + 1})
    return replace(table, words=all_words, tags=all_tags), rows


def augment_train(table, config, run_dir: Path | None = None, say=print):
    """``table`` (a TextTable or TaggedTable) followed by up to ``config.augment_copies`` augmented
    copies of each example, as ``config.augment`` says (seeded by ``config.seed``); the copies are
    written to ``run_dir/AUGMENTED_FILE`` (when given; by the main process) for reading."""
    from accelerate import PartialState

    method, copies = config.augment, config.augment_copies
    if method == "none":
        return table
    tagged = isinstance(table, TaggedTable)  # augment=mention is for NER only: RunConfig refuses it elsewhere
    rng = np.random.default_rng([config.seed, 1])  # its own stream: the model's seeded draws stay as they were
    augmented, rows = (_augment_tagged(table, method, copies, rng) if tagged
                       else _augment_texts(table, copies, rng))
    unchanged = copies * len(table) - len(rows)
    say(f"augment={method}: {len(rows)} augmented {'sentences' if tagged else 'texts'} added to the {len(table)} "
        f"of train ({copies} {'copy' if copies == 1 else 'copies'} each; {unchanged} came out unchanged and were "
        f"dropped)" + (f"; written to {Path(run_dir) / AUGMENTED_FILE}" if run_dir is not None else ""))
    if run_dir is not None and PartialState().is_main_process:
        atomic_write_text(Path(run_dir) / AUGMENTED_FILE, "".join(json.dumps(r) + "\n" for r in rows))
    return augmented

"""NER tag schemes: detect IOB1, IOB2 or BIOES, convert to IOB2, validate strictly.

IOB2 (every entity starts with B-) is the one scheme the rest of nlptransfer uses, and the one
seqeval's strict mode scores. Labels that are not IOB at all must fail loudly: peers score them
silently as zero (simpletransformers #714, Ludwig #2307).
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["TagError", "Where", "detect_scheme", "to_iob2", "convert_all", "split_tag", "lenient_iob2",
           "best_valid_tags", "valid_tag_sequences"]

PREFIXES = {"B", "I", "E", "S", "L", "U"}  # L/U: BILOU's names for BIOES's E/S


class TagError(ValueError):
    """A tag sequence is malformed; the message names file, sentence and token."""


@dataclass(frozen=True)
class Where:
    """Where a sentence came from, for error messages."""

    source: str
    sentence: int  # 1-based
    line: int | None = None  # first line of the sentence in a column file

    def token(self, index: int, word: str | None = None) -> str:
        shown = f" ({word!r})" if word is not None else ""
        line = f" (line {self.line + index})" if self.line is not None else ""
        return f"{self.source}, sentence {self.sentence}, token {index + 1}{shown}{line}"


def split_tag(tag, where: Where, index: int, word: str | None = None) -> tuple[str, str | None]:
    """("B", "PER") for "B-PER", ("O", None) for "O"; an error for anything else."""
    if not isinstance(tag, str):
        raise TagError(f"{where.token(index, word)}: tag {tag!r} is a {type(tag).__name__}, not a string.")
    if tag == "O":
        return "O", None
    prefix, sep, kind = tag.partition("-")
    if not sep or prefix not in PREFIXES or not kind:
        raise TagError(f"{where.token(index, word)}: tag {tag!r} is not O or PREFIX-TYPE with a prefix of "
                       f"B, I, E or S (e.g. B-PER). Map your labels to an IOB scheme.")
    return {"L": "E", "U": "S"}.get(prefix, prefix), kind


def detect_scheme(sentences: list[list[str]], wheres: list[Where], words: list[list[str]] | None = None) -> str:
    """"BIOES" if E-/S- appear; "IOB1" if entities start with I- and B- only separates adjacent
    entities of one type; else "IOB2"."""
    starts_with_i = b_after_outside = False
    for n, (tags, where) in enumerate(zip(sentences, wheres)):
        previous = ("O", None)
        for i, tag in enumerate(tags):
            prefix, kind = split_tag(tag, where, i, words[n][i] if words else None)
            if prefix in ("E", "S"):
                return "BIOES"
            if prefix == "I" and previous[1] != kind:
                starts_with_i = True
            if prefix == "B" and previous[1] != kind:
                b_after_outside = True
            previous = (prefix, kind)
    return "IOB1" if starts_with_i and not b_after_outside else "IOB2"


def to_iob2(tags: list[str], scheme: str, where: Where, *, repair: bool = False,
            words: list[str] | None = None) -> tuple[list[str], int]:
    """(IOB2 tags, number of repairs). Strict: an I-X that does not continue an X entity is an
    error, or with ``repair=True`` becomes B-X and is counted."""
    out, repaired, previous_kind = [], 0, None
    for i, tag in enumerate(tags):
        prefix, kind = split_tag(tag, where, i, words[i] if words else None)
        if prefix == "S":
            prefix = "B"
        elif prefix == "E":
            prefix = "I"
        if prefix == "I" and previous_kind != kind:
            if scheme == "IOB1":
                prefix = "B"
            elif repair:
                prefix, repaired = "B", repaired + 1
            else:
                raise TagError(f"{where.token(i, words[i] if words else None)}: {tag!r} continues no {kind} "
                               f"entity (previous tag {tags[i - 1] if i else 'sentence start'!r}); strict IOB2 "
                               f"needs B-{kind} here. Fix the data or pass repair=True to turn such tags "
                               f"into B- tags.")
        out.append("O" if prefix == "O" else f"{prefix}-{kind}")
        previous_kind = kind
    return out, repaired


def lenient_iob2(tags: list[str]) -> list[str]:
    """Tags made valid IOB2: an I-X that continues no X entity is read as B-X (the usual lenient
    read of word-by-word predictions). A sequence is valid IOB2 exactly when this leaves it as it
    is. The taggers decode with ``best_valid_tags`` instead, which scores better (BENCHMARKS.md)."""
    out = []
    for tag in tags:
        if tag.startswith("I-") and (out[-1] if out else "O")[2:] != tag[2:]:
            tag = "B-" + tag[2:]
        out.append(tag)
    return out


def convert_all(sentences: list[list[str]], wheres: list[Where], *, repair: bool = False,
                words: list[list[str]] | None = None) -> tuple[list[list[str]], str]:
    """Every sentence to IOB2; returns (tags, detected scheme) and warns with the repair count."""
    scheme = detect_scheme(sentences, wheres, words)
    converted, repairs = [], 0
    for n, (tags, where) in enumerate(zip(sentences, wheres)):
        fixed, count = to_iob2(tags, scheme, where, repair=repair, words=words[n] if words else None)
        converted.append(fixed)
        repairs += count
    if repairs:
        warnings.warn(f"repaired {repairs} tag(s) that continued no entity (I-X after O or another type) "
                      f"into B-X tags", stacklevel=2)
    return converted, scheme


def best_valid_tags(log_proba, tags: list[str]) -> list[int]:
    """The tag ids of the most probable valid IOB2 sequence, given each word's log-probabilities
    (words, tags): Viterbi with I-X allowed only after B-X or I-X.

    Why not the argmax: word by word it emits I-X after O, which strict scoring does not count as
    an entity, and reading it as B-X (``lenient_iob2``) mostly adds a wrong entity (CoNLL LoRA: 1.3
    F1 points under the argmax's raw tags, BENCHMARKS.md). Written by hand: transformers and
    seqeval have no constrained decoding, and a CRF layer would change what is trained.
    """
    lp = np.asarray(log_proba, dtype=np.float64)
    if len(lp) == 0:
        return []
    penalty, inside = _transitions(tuple(tags))
    score = np.where(inside, -np.inf, lp[0])
    back = np.zeros(lp.shape, dtype=np.int64)
    for t in range(1, len(lp)):
        candidates = score[:, None] + penalty  # (previous, current)
        back[t] = candidates.argmax(0)
        score = candidates.max(0) + lp[t]
    path = [int(score.argmax())]
    for t in range(len(lp) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


def valid_tag_sequences(log_probas, tags: list[str]) -> list[list[str]]:
    """``best_valid_tags`` of each sentence's (words, tags) log-probabilities, as tag names."""
    return [[tags[i] for i in best_valid_tags(lp, tags)] for lp in log_probas]


@functools.lru_cache(maxsize=16)
def _transitions(tags: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(penalty[i, j]: 0 where tag j may follow tag i, else -inf; which tags are I-X), built once
    per tag set rather than once per sentence."""
    kinds = [t[2:] if t[:2] in ("B-", "I-") else None for t in tags]
    inside = np.array([t.startswith("I-") for t in tags])
    allowed = np.array([[not inside[j] or kinds[i] == kinds[j] for j in range(len(tags))] for i in range(len(tags))])
    return np.where(allowed, 0.0, -np.inf), inside

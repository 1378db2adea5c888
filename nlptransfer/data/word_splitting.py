"""Raw text to words with character offsets, the way the model's own pre-tokenizer splits it.

Invisible characters that tokenizers delete (zero-width space and joiner, soft hyphen, bidi marks,
variation selectors, combining accents on their own) never become words of their own: a word of
nothing else joins the word it touches, or is dropped when spaces surround it. Every word that
comes out therefore reaches the model and gets exactly one tag, and its offsets point into the
original string.
"""
from __future__ import annotations

import re
import unicodedata

__all__ = ["split_words", "is_invisible"]

_WORD = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
_INVISIBLE = {"Mn", "Me", "Cf", "Cc"}  # combining marks, format characters, controls


def is_invisible(text: str) -> bool:
    """Only characters a tokenizer may delete (and no whitespace)."""
    return bool(text) and all(unicodedata.category(c) in _INVISIBLE and not c.isspace() for c in text)


def _spans(text: str, tokenizer) -> list[tuple[int, int]]:
    pre = getattr(getattr(tokenizer, "backend_tokenizer", None), "pre_tokenizer", None)
    if pre is None:  # no tokenizer, or one without a pre-tokenizer: words and punctuation
        return [m.span() for m in _WORD.finditer(text)]
    out = []
    for _, (start, end) in pre.pre_tokenize_str(text):
        while start < end and text[start].isspace():  # byte-level and metaspace pieces carry their space
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            out.append((start, end))
    return out


def split_words(text: str, tokenizer=None) -> tuple[list[str], list[tuple[int, int]]]:
    """Words of raw text and their (start, end) character offsets: the tokenizer's pre-tokenizer
    pieces, or without one words and punctuation. Invisible pieces join an adjacent word."""
    merged: list[list[int]] = []
    pending = None  # invisible piece right before the next word
    for start, end in _spans(text, tokenizer):
        if not is_invisible(text[start:end]):
            if pending is not None and pending[1] == start:
                start = pending[0]
            merged.append([start, end])
            pending = None
        elif merged and merged[-1][1] == start:
            merged[-1][1] = end
        else:
            pending = (start, end) if pending is None or pending[1] != start else (pending[0], end)
    spans = [(a, b) for a, b in merged]
    return [text[a:b] for a, b in spans], spans

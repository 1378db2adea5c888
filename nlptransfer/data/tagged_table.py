"""Read word-tagged sentences (NER) from CoNLL column files, JSONL, a DataFrame or a Dataset.

Tags are converted to IOB2 (IOB1 and BIOES/BILOU are detected); every error names the source,
sentence and token.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from .source_files import lines_of, read_source_text
from .tag_schemes import TagError, Where, convert_all

__all__ = ["TaggedTable", "read_tagged_table", "tag_order", "check_tag_splits"]


@dataclass
class TaggedTable:
    words: list[list[str]]
    tags: list[list[str]] | None  # IOB2
    source: str
    scheme: str = "IOB2"  # the scheme the source was written in

    def __len__(self):
        return len(self.words)

    @property
    def texts(self) -> list[str]:
        """Each sentence as running text (the words joined by spaces), for unlabelled uses."""
        return [" ".join(words) for words in self.words]


def _read_conll(path: Path, where: str, tag_index: int):
    """Column file: one token per line (word first, tags in later columns), blank lines between
    sentences, -DOCSTART- lines skipped. A file whose first token line has a tab is split on tabs
    only, so a word may hold spaces ("New York<TAB>B-LOC"); otherwise on any whitespace."""
    words, tags, lines = [], [], []
    sentence_words, sentence_tags, first_line = [], [], None
    tabbed = None

    def close():
        if sentence_words:
            words.append(sentence_words)
            tags.append(sentence_tags)
            lines.append(first_line)

    for line_no, line in enumerate(lines_of(read_source_text(path, where)), 1):
        if tabbed is None and line.strip() and not line.startswith("-DOCSTART-"):
            tabbed = "\t" in line
        cols = [c.strip() for c in line.split("\t")] if tabbed else line.split()
        cols = cols if any(cols) else []
        if not cols or cols[0] == "-DOCSTART-":
            close()
            sentence_words, sentence_tags, first_line = [], [], None
            continue
        if len(cols) < 2:
            separator = " (separated by a tab, like the file's first token line)" if tabbed else ""
            raise DataError(f"{where}, line {line_no}: {line.strip()!r} has one column; a CoNLL line needs "
                            f"the word and its tag{separator}.")
        try:
            sentence_tags.append(cols[tag_index])
        except IndexError:
            raise DataError(f"{where}, line {line_no}: {len(cols)} columns, but the tag column index is "
                            f"{tag_index}. Set tag_column_index= to the tag column.") from None
        sentence_words.append(cols[0])
        first_line = first_line or line_no
    close()
    return words, tags, lines


def _column_rows(source, where, tokens_column, tags_column):
    """Rows of (tokens, tags) from a JSONL path, a DataFrame or a datasets.Dataset."""
    if isinstance(source, Path):
        rows = []
        for line_no, line in enumerate(lines_of(read_source_text(source, where)), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise DataError(f"{where}: line {line_no} is not valid JSON ({e.msg}).") from None
                if not isinstance(rows[-1], dict):
                    raise DataError(f"{where}: line {line_no} is not a JSON object with {tokens_column!r} and "
                                    f"{tags_column!r} lists.")
        columns = sorted({k for r in rows for k in r})
    elif type(source).__name__ == "Dataset":
        rows = source.to_list()
        columns = source.column_names
        feature = source.features.get(tags_column) if tags_column else None
        inner = getattr(feature, "feature", None)
        if inner is not None and hasattr(inner, "int2str"):
            for r in rows:
                r[tags_column] = [inner.int2str(int(t)) for t in r[tags_column]]
    elif hasattr(source, "columns") and hasattr(source, "to_dict"):
        rows, columns = source.to_dict("records"), list(source.columns)
    else:
        raise DataError(f"Cannot read {where} of type {type(source).__name__}: pass a CoNLL or JSONL path, a "
                        f"pandas DataFrame or a datasets.Dataset.")
    for col, option in ((tokens_column, "tokens_column"), (tags_column, "tags_column")):
        if col is not None and col not in columns:
            raise DataError(f"{where} has no column {col!r} (columns: {columns}). Set {option}= to it.")
    words = [list(r[tokens_column]) if isinstance(r[tokens_column], (list, tuple)) or hasattr(r[tokens_column], "tolist")
             else r[tokens_column] for r in rows]
    tags = [list(r[tags_column]) for r in rows] if tags_column else None
    return words, tags


def read_tagged_table(source, tokens_column: str = "tokens", tags_column: str | None = "tags", *,
                      tag_index: int = -1, name: str = "train", repair: bool = False) -> TaggedTable:
    """Sentences of words with IOB2 tags (``tags_column=None``: words only).

    A path ending in .json/.jsonl is JSONL with ``tokens_column`` and ``tags_column`` lists; any
    other path is a CoNLL column file whose tag is column ``tag_index`` (default: the last).
    """
    lines = None
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        where = f"{name} file '{path}'"
        if "".join(path.suffixes[-2:]).lower().removesuffix(".gz").endswith((".json", ".jsonl")):
            words, tags = _column_rows(path, where, tokens_column, tags_column)
        else:
            words, tags, lines = _read_conll(path, where, tag_index)
            tags = tags if tags_column else None
    else:
        where = f"{name} {type(source).__name__}"
        words, tags = _column_rows(source, where, tokens_column, tags_column)
    if not words:
        raise DataError(f"{where} has no sentences.")
    wheres = [Where(where, n + 1, lines[n] if lines else None) for n in range(len(words))]
    for n, sentence in enumerate(words):
        if not isinstance(sentence, list) or not sentence:
            raise DataError(f"{where}, sentence {n + 1}: expected a non-empty list of words, got {sentence!r}.")
        for i, word in enumerate(sentence):
            if not isinstance(word, str) or not word.strip():
                raise DataError(f"{wheres[n].token(i)}: expected a non-empty word, got {word!r}.")
        if tags is not None and len(tags[n]) != len(sentence):
            raise DataError(f"{where}, sentence {n + 1}: {len(sentence)} tokens but {len(tags[n])} tags; every "
                            f"token needs exactly one tag.")
    scheme = "IOB2"
    if tags is not None:
        try:
            tags, scheme = convert_all(tags, wheres, repair=repair, words=words)
        except TagError as e:
            raise DataError(str(e)) from None
    return TaggedTable(words, tags, where, scheme)


def tag_order(tags) -> list[str]:
    """"O" first, then by entity type, B- before I-: stable whatever the row order."""
    unique = {t for sentence in tags for t in sentence} | {"O"}
    return sorted(unique, key=lambda t: (t != "O", t[2:], t[:1]))


def check_tag_splits(train: TaggedTable, others: dict[str, TaggedTable | None]) -> list[str]:
    """The tag set of train. A tag another split uses that train never had is a warning: the
    model can never predict it, so its entities are scored with recall 0."""
    tags = tag_order(train.tags)
    if len(tags) < 2:
        raise DataError(f"{train.source} has no entity tags (only 'O'); check the tag column.")
    known = set(tags)
    for table in others.values():
        if table is None or table.tags is None:
            continue
        unseen = [(n, i) for n, sentence in enumerate(table.tags) for i, tag in enumerate(sentence) if tag not in known]
        if unseen:
            n, i = unseen[0]
            names = sorted({table.tags[n][i] for n, i in unseen})
            warnings.warn(f"{Where(table.source, n + 1).token(i, table.words[n][i])}: tag(s) {names} ({len(unseen)} "
                          f"tokens) never occur in the train data (train tags: {tags}); the model can never predict "
                          f"them, so their entities are scored with recall 0.", stacklevel=3)
    return tags

"""The labelled splits of a run, read and checked together before any model loads: errors name
the file, row (sentence) and column (token); labels of validation and test must occur in train."""
from __future__ import annotations

from dataclasses import dataclass

from ..config import RunConfig
from ..errors import ConfigError
from ..task_types import positive_label, task_type
from .tagged_table import TaggedTable, check_tag_splits, read_tagged_table
from .text_table import TextTable, check_splits, read_text_table

__all__ = ["TextSplits", "read_text_splits", "TaggedSplits", "read_tagged", "read_tagged_splits"]


@dataclass(frozen=True)
class TextSplits:
    train: TextTable
    validation: TextTable | None
    test: TextTable | None
    classes: list[str]  # from train, in a stable order
    positive: str | None  # binary tasks: the class the threshold is about


def read_text_splits(run: RunConfig, train, validation=None, test=None) -> TextSplits:
    """Read and check every split given, before any model loads: errors name the file, row and
    column; labels of other splits must occur in train."""
    task = task_type(run.task)
    if not task.classification:
        raise ConfigError(f"task {run.task!r} is not text classification: use EntityTagger (tasks/tagging.py).")
    read = lambda source, name: read_text_table(source, run.text_column, run.label_column, name=name)  # noqa: E731
    train_t = read(train, "train")
    others = {name: read(source, name) if source is not None else None
              for name, source in (("validation", validation), ("test", test))}
    classes = check_splits(train_t, others)
    return TextSplits(train_t, others["validation"], others["test"], classes,
                      positive_label(task, classes, train_t.labels, train_t.source))


@dataclass(frozen=True)
class TaggedSplits:
    train: TaggedTable
    validation: TaggedTable | None
    test: TaggedTable | None
    tags: list[str]  # IOB2 tags of train, "O" first


def read_tagged(run: RunConfig, source, name: str) -> TaggedTable:
    """One split as IOB2-tagged words, read with the run's column settings."""
    if isinstance(source, TaggedTable):
        return source
    return read_tagged_table(source, run.tokens_column, run.tags_column, tag_index=run.tag_column_index,
                             name=name, repair=run.repair_tags)


def read_tagged_splits(run: RunConfig, train, validation=None, test=None) -> TaggedSplits:
    """Read and check every split given, before any model loads; errors name the file, sentence
    and token."""
    train_t = read_tagged(run, train, "train")
    others = {name: read_tagged(run, source, name) if source is not None else None
              for name, source in (("validation", validation), ("test", test))}
    tags = check_tag_splits(train_t, others)
    return TaggedSplits(train_t, others["validation"], others["test"], tags)

"""Read labelled texts from CSV, JSONL, a DataFrame or a ``datasets`` Dataset, and check them.

Every error names the source, the 1-based data row (header excluded) and the column at fault.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError

__all__ = ["TextTable", "read_text_table", "label_order", "check_splits"]


@dataclass
class TextTable:
    texts: list[str]
    labels: list[str] | None
    source: str  # how errors name it: "file 'train.csv'", "DataFrame 'validation'"

    def __len__(self):
        return len(self.texts)


def _label_str(value):
    """Labels are kept as strings: JSON-safe, and 1 and 1.0 and "1" mean the same class."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _records_from_path(path: Path, name: str):
    suffixes = "".join(path.suffixes[-2:]).lower()
    if suffixes.endswith((".jsonl", ".json")):
        rows = []
        with open(path, encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise DataError(f"{name} file '{path}': line {line_no} is not valid JSON ({e.msg}). "
                                    f"JSONL needs one JSON object per line.") from None
                if not isinstance(rows[-1], dict):
                    raise DataError(f"{name} file '{path}': line {line_no} is not a JSON object.")
        return rows, None
    import pandas as pd

    sep, kind = ("\t", "TSV") if suffixes.endswith((".tsv", ".tsv.gz")) else (",", "CSV")
    try:
        # keep_default_na=False: "NA" or "null" is a real word in a text, not a missing value
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise DataError(f"{name} file '{path}' could not be parsed as {kind}: {e}") from None
    return None, frame


def read_text_table(source, text_column: str = "text", label_column: str | None = "label", *,
                    name: str = "train") -> TextTable:
    """Texts and (if ``label_column``) labels from ``source``.

    source: path to .csv/.tsv(.gz) or .jsonl, a pandas DataFrame, a ``datasets.Dataset``, or a
    hub dataset name with a split (``"imdb:train"``, needs network).
    """
    records, frame, where = None, None, None
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.exists():
            where = f"{name} file '{path}'"
            records, frame = _records_from_path(path, name)
        elif ":" in str(source) and not path.suffix:
            hub_name, split = str(source).rsplit(":", 1)
            import datasets

            source, where = datasets.load_dataset(hub_name, split=split), f"{name} dataset '{source}'"
        else:
            raise DataError(f"The {name} file '{path}' does not exist (working directory: {os.getcwd()}).")
    if records is None and frame is None:
        kind = type(source).__name__
        where = where or f"{name} {kind}"
        if kind == "DatasetDict":
            raise DataError(f"The {name} data is a DatasetDict with splits {list(source.keys())}; pass one "
                            f"split, e.g. dataset['{next(iter(source.keys()))}'].")
        if kind == "Dataset":
            frame = _dataset_frame(source, label_column)
        elif hasattr(source, "columns") and hasattr(source, "to_dict"):
            frame = source
        else:
            raise DataError(f"Cannot read {name} data of type {kind}: pass a CSV/JSONL path, a pandas "
                            f"DataFrame or a datasets.Dataset.")
    columns = list(frame.columns) if frame is not None else sorted({k for r in records for k in r})
    for col, option in ((text_column, "text_column"), (label_column, "label_column")):
        if col is not None and col not in columns:
            raise DataError(f"{where} has no column {col!r} (columns: {columns}). Rename it or set "
                            f"{option}= to the column that holds it.")
    if frame is not None:
        raw_texts = frame[text_column].tolist()
        raw_labels = frame[label_column].tolist() if label_column else None
    else:
        raw_texts = [r.get(text_column) for r in records]
        raw_labels = [r.get(label_column) for r in records] if label_column else None

    if not raw_texts:
        raise DataError(f"{where} has no rows.")
    for row, text in enumerate(raw_texts, 1):
        if not isinstance(text, str):
            raise DataError(f"{where}, row {row}, column {text_column!r}: expected text, got "
                            f"{type(text).__name__} {text!r}.")
        if not text.strip():
            raise DataError(f"{where}, row {row}, column {text_column!r}: the text is empty. Remove the row "
                            f"or fill it in.")
    labels = None
    if raw_labels is not None:
        labels = []
        for row, label in enumerate(raw_labels, 1):
            if label is None or (isinstance(label, float) and label != label) or str(label).strip() == "":
                raise DataError(f"{where}, row {row}, column {label_column!r}: the label is missing.")
            if not isinstance(label, (str, int, float, bool)):
                raise DataError(f"{where}, row {row}, column {label_column!r}: a label must be a string or "
                                f"number, got {type(label).__name__}.")
            labels.append(_label_str(label))
    return TextTable(list(raw_texts), labels, where)


def _dataset_frame(dataset, label_column):
    """A datasets.Dataset as a DataFrame, with ClassLabel ids turned back into names."""
    frame = dataset.to_pandas()
    feature = dataset.features.get(label_column) if label_column else None
    if feature is not None and hasattr(feature, "int2str"):
        frame[label_column] = [feature.int2str(int(i)) for i in frame[label_column]]
    return frame


def label_order(labels) -> list[str]:
    """The label set in a stable order: numeric order if every label is a number, else sorted."""
    unique = set(labels)
    try:
        return sorted(unique, key=float)
    except ValueError:
        return sorted(unique)


def check_splits(train: TextTable, others: dict[str, TextTable | None]) -> list[str]:
    """Label set from ``train``; errors for unknown labels elsewhere; warnings for shared texts."""
    classes = label_order(train.labels)
    if len(classes) < 2:
        raise DataError(f"{train.source} has only one class ({classes[0]!r}); a classifier needs at "
                        f"least two. Check label_column or add examples of the other classes.")
    known = set(classes)
    train_texts = set(train.texts)
    for split, table in others.items():
        if table is None:
            continue
        if table.labels is not None:
            for row, label in enumerate(table.labels, 1):
                if label not in known:
                    raise DataError(f"{table.source}, row {row}: label {label!r} never occurs in the train data "
                                    f"(train labels: {classes}). Fix the label or add training examples of it.")
        shared = sum(1 for t in set(table.texts) if t in train_texts)
        if shared:
            warnings.warn(f"{shared} distinct text(s) of the {split} data also appear in the train data; "
                          f"{split} scores will be optimistic. Deduplicate across splits.", stacklevel=2)
    return classes

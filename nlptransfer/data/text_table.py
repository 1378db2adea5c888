"""Read labelled texts from CSV/TSV (optionally gzipped), JSONL, a DataFrame or a ``datasets``
Dataset, and check them.

Every error names the source, the 1-based data row (header excluded; for files also the line)
and the column at fault. Labels follow one rule: surrounding spaces are dropped, a number written
as ``1.0`` is the class ``1``, and NA / NaN / null / None / empty mean "missing", which is an
error naming the rows.
"""
from __future__ import annotations

import csv
import difflib
import io
import json
import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from .source_files import lines_of, read_source_text

__all__ = ["TextTable", "read_text_table", "label_order", "check_splits", "normalise_label", "MISSING_LABELS"]

MISSING_LABELS = ("", "na", "nan", "n/a", "null", "none")
_DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}


@dataclass
class TextTable:
    texts: list[str]
    labels: list[str] | None
    source: str  # how errors name it: "file 'train.csv'", "DataFrame 'validation'"
    lines: list[tuple[int, int]] | None = None  # files: the (first, last) line of each row

    def __len__(self):
        return len(self.texts)

    def row(self, index: int) -> str:
        """"row 3 (line 4)": how messages point at a row."""
        if self.lines is None:
            return f"row {index + 1}"
        first, last = self.lines[index]
        return f"row {index + 1} (line {first})" if first == last else f"row {index + 1} (lines {first}-{last})"


def normalise_label(value):
    """A label as the class name it stands for, or None when it is missing (see module doc)."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    if isinstance(value, float):
        return None if math.isnan(value) else str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(type(value).__name__)
    text = value.strip()
    if text.lower() in MISSING_LABELS:
        return None
    if re.fullmatch(r"[+-]?\d+\.0+", text):  # "1.0" is the class "1" (not "01": that may be a code)
        return text.split(".")[0].lstrip("+")
    return text


def _parse_csv(text: str, where: str, sep: str):
    """(header, rows, (first, last) line of each row), strict about quotes."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    rows, lines, last = [], [], 0
    try:
        header = next(reader)
        last = reader.line_num
        for row in reader:
            first, last = last + 1, reader.line_num
            if row:  # a blank line is not a row
                rows.append(row)
                lines.append((first, last))
    except csv.Error as e:
        hint = " A quote opened there never closes: close it, or write a quote inside a text as \"\"." \
            if "end of data" in str(e) else " Quote texts that contain the delimiter or quotes."
        raise DataError(f"{where}, line {last + 1}: not valid CSV ({e}).{hint}") from None
    for n, (row, (first, _)) in enumerate(zip(rows, lines), 1):
        if len(row) != len(header):
            raise DataError(f"{where}, row {n} (line {first}): {len(row)} fields where the header has {len(header)}. "
                            f"A text with an unquoted {_DELIMITERS.get(sep, repr(sep))}? Quote it (\"...\").")
    return header, rows, lines


def _check_delimiter(header: list[str], where: str, sep: str, wanted: list[str]) -> None:
    if len(header) != 1 or all(col in header for col in wanted):
        return
    found = [name for d, name in _DELIMITERS.items() if d != sep and d in header[0]]
    guess = f" It looks {found[0]}-separated: save it as comma-separated .csv, or as .tsv if tab-separated." \
        if found else ""
    raise DataError(f"{where}: the header {header[0]!r} has no {_DELIMITERS.get(sep, repr(sep))} delimiter, so "
                    f"it holds one column.{guess}")


def _records_from_path(path: Path, where: str, wanted: list[str]):
    """(columns, rows as dicts, line ranges) of a JSONL or CSV/TSV file."""
    text = read_source_text(path, where)
    suffixes = "".join(path.suffixes[-2:]).lower()
    if suffixes.endswith((".jsonl", ".json", ".jsonl.gz")):
        rows, lines = [], []
        for line_no, line in enumerate(lines_of(text), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{where}: line {line_no} is not valid JSON ({e.msg}). "
                                f"JSONL needs one JSON object per line.") from None
            if not isinstance(row, dict):
                raise DataError(f"{where}: line {line_no} is not a JSON object.")
            rows.append(row)
            lines.append((line_no, line_no))
        return sorted({k for r in rows for k in r}), rows, lines
    sep = "\t" if suffixes.endswith((".tsv", ".tsv.gz")) else ","
    header, rows, lines = _parse_csv(text, where, sep)
    _check_delimiter(header, where, sep, wanted)
    return header, [dict(zip(header, row)) for row in rows], lines


def read_text_table(source, text_column: str = "text", label_column: str | None = "label", *,
                    name: str = "train") -> TextTable:
    """Texts and (if ``label_column``) labels from ``source``.

    source: path to .csv/.tsv(.gz) or .jsonl, a pandas DataFrame, a ``datasets.Dataset``, or a
    hub dataset name with a split (``"imdb:train"``, needs network).
    """
    wanted = [c for c in (text_column, label_column) if c is not None]
    lines = None
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists() and ":" in str(source) and not path.suffix:
            import datasets

            hub_name, split = str(source).rsplit(":", 1)
            source, where = datasets.load_dataset(hub_name, split=split), f"{name} dataset '{source}'"
        else:
            where = f"{name} file '{path}'"
            columns, records, lines = _records_from_path(path, where, wanted)
    if lines is None:
        kind = type(source).__name__
        where = locals().get("where") or f"{name} {kind}"
        if kind == "DatasetDict":
            raise DataError(f"The {name} data is a DatasetDict with splits {list(source.keys())}; pass one "
                            f"split, e.g. dataset['{next(iter(source.keys()))}'].")
        if kind == "Dataset":
            source = _dataset_frame(source, label_column)
        elif not (hasattr(source, "columns") and hasattr(source, "to_dict")):
            raise DataError(f"Cannot read {name} data of type {kind}: pass a CSV/JSONL path, a pandas "
                            f"DataFrame or a datasets.Dataset.")
        columns, records = [str(c) for c in source.columns], source.to_dict("records")
    for col, option in ((text_column, "text_column"), (label_column, "label_column")):
        if col is not None and col not in columns:
            raise DataError(f"{where} has no column {col!r} (columns: {columns}). Rename it or set "
                            f"{option}= to the column that holds it.")
    if not records:
        raise DataError(f"{where} has no rows.")
    table = TextTable([r.get(text_column) for r in records], None, where, lines)
    for i, text in enumerate(table.texts):
        if not isinstance(text, str):
            raise DataError(f"{where}, {table.row(i)}, column {text_column!r}: expected text, got "
                            f"{type(text).__name__} {text!r}.")
        if not text.strip():
            raise DataError(f"{where}, {table.row(i)}, column {text_column!r}: the text is empty. Remove the row "
                            f"or fill it in.")
    if label_column is not None:
        table.labels = _labels([r.get(label_column) for r in records], table, label_column)
        if lines is not None:
            _check_rows_not_merged(table, path)
    return table


def _labels(raw: list, table: TextTable, column: str) -> list[str]:
    labels, missing, padded = [], [], 0
    for i, value in enumerate(raw):
        try:
            label = normalise_label(value)
        except TypeError as e:
            raise DataError(f"{table.source}, {table.row(i)}, column {column!r}: a label must be a string or number, "
                            f"got {e}.") from None
        if label is None:
            missing.append(i)
        padded += isinstance(value, str) and value != value.strip() and label is not None
        labels.append(label)
    if missing:
        rows = ", ".join(table.row(i) for i in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DataError(f"{table.source}, {rows}, column {column!r}: the label is missing ({raw[missing[0]]!r}). Fill "
                        f"it in or remove the row; NA, NaN, null, None and empty labels count as missing.")
    if padded:
        warnings.warn(f"{table.source}: {padded} label(s) had spaces around them, which were removed "
                      f"('positive ' is the class 'positive').", stacklevel=3)
    return labels


def _check_rows_not_merged(table: TextTable, path: Path) -> None:
    """A quote opened in one row and closed rows later reads several rows into one text: find
    texts whose later lines end like rows of their own (delimiter, then a known label)."""
    sep = "\t" if ".tsv" in path.name.lower() else ","
    known = "|".join(re.escape(label) for label in sorted(set(table.labels), key=len, reverse=True))
    looks_like_row = re.compile(rf'{re.escape(sep)}\s*"?(?:{known})"?\s*$')
    for i, text in enumerate(table.texts):
        inner = text.split("\n")[1:]
        suspects = [line for line in inner if looks_like_row.search(line)]
        if suspects:
            raise DataError(f"{table.source}, {table.row(i)}: a quote opened on line {table.lines[i][0]} closes only "
                            f"on line {table.lines[i][1]}, so {len(suspects)} line(s) that look like rows of their own "
                            f"(e.g. {suspects[0][:60]!r}) were read into one text. Close the quote, or write a quote "
                            f"inside a text as \"\".")


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


def _warn_near_duplicates(train: TextTable, classes: list[str]) -> None:
    counts = {c: train.labels.count(c) for c in classes}
    for i, a in enumerate(classes):
        for b in classes[i + 1:]:
            close = a.lower() == b.lower() or (min(len(a), len(b)) >= 4 and difflib.SequenceMatcher(
                None, a.lower(), b.lower()).ratio() >= 0.85)
            if close:
                warnings.warn(f"{train.source}: labels {a!r} ({counts[a]} rows) and {b!r} ({counts[b]} rows) are "
                              f"nearly the same; if they are one class, fix the data.", stacklevel=3)


def check_splits(train: TextTable, others: dict[str, TextTable | None]) -> list[str]:
    """Label set from ``train``. A validation label train never had is an error (the model could
    not be selected on it); in other splits (test) it is a warning, and it is scored: the model
    can never predict it, so its recall is 0. Texts shared with train give a warning."""
    classes = label_order(train.labels)
    if len(classes) < 2:
        raise DataError(f"{train.source} has only one class ({classes[0]!r}); a classifier needs at "
                        f"least two. Check label_column or add examples of the other classes.")
    _warn_near_duplicates(train, classes)
    known = set(classes)
    train_texts = set(train.texts)
    for split, table in others.items():
        if table is None:
            continue
        if table.labels is not None:
            unseen = [i for i, label in enumerate(table.labels) if label not in known]
            if unseen and split == "validation":
                i = unseen[0]
                raise DataError(f"{table.source}, {table.row(i)}: label {table.labels[i]!r} never occurs in the train "
                                f"data (train labels: {classes}). Fix the label or add training examples of it.")
            if unseen:
                names = sorted({table.labels[i] for i in unseen})
                warnings.warn(f"{table.source}: label(s) {names} ({len(unseen)} rows, first {table.row(unseen[0])}) "
                              f"never occur in the train data; the model can never predict them, so they are "
                              f"scored with recall 0.", stacklevel=3)
        shared = sum(1 for t in set(table.texts) if t in train_texts)
        if shared:
            warnings.warn(f"{shared} distinct text(s) of the {split} data also appear in the train data; "
                          f"{split} scores will be optimistic. Deduplicate across splits.", stacklevel=3)
    return classes

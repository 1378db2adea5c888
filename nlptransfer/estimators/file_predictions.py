"""Predict over a whole file in chunks: ``nlptransfer predict MODEL --data IN --output OUT``.

Reads CSV/TSV (optionally .gz) and JSONL a chunk of rows at a time, so memory stays bounded by the
chunk, not the file; CoNLL files (NER) are read a sentence block at a time. Every input column is
kept, in the input's row order, with the predictions added:

    classification   label, then one score_<class> column per class (JSONL: "label", "scores")
    NER, texts       entities: character spans with type and score (CSV: as a JSON string)
    NER, word lists  JSONL "tokens" lists get "predicted_tags"; CoNLL gets a predicted-tag column

The output is written to a temporary file beside it and renamed at the end, so an interrupted run
never leaves half an output over a good one; an existing output is refused unless ``overwrite``.
"""
from __future__ import annotations

import gzip
import itertools
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import ConfigError, DataError

__all__ = ["predict_file", "check_paths", "CHUNK_ROWS"]

CHUNK_ROWS = 1000  # rows per chunk: predictions batch within it (eval_batch_size at a time)


def _open_text(path: Path):
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    return opener(path, "rt", encoding="utf-8-sig", newline="")


def _kind(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    ext = suffixes[-1] if suffixes else ""
    kinds = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".conll": "conll", ".txt": "conll"}
    if ext not in kinds:
        raise ConfigError(f"'{path}': cannot tell the format from '{ext or 'no extension'}'; use .csv, .tsv, .jsonl "
                          f"(optionally .gz), or for NER .conll/.txt.")
    return kinds[ext]


def _table_chunks(path: Path, kind: str, column: str) -> Iterator[list[dict]]:
    import pandas as pd

    try:
        reader = pd.read_csv(path, sep="\t" if kind == "tsv" else ",", dtype=str, keep_default_na=False,
                             chunksize=CHUNK_ROWS, encoding="utf-8-sig")
        for frame in reader:
            if column not in frame.columns:
                raise DataError(f"'{path}' has no column '{column}' (columns: {', '.join(frame.columns)}); pass "
                                f"--text-column NAME.")
            yield frame.to_dict("records")
    except pd.errors.ParserError as e:
        raise DataError(f"'{path}' is not valid {kind.upper()}: {e}") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"'{path}' is empty; it needs a header row and at least one row.") from None


def _jsonl_chunks(path: Path) -> Iterator[list[dict]]:
    chunk = []
    with _open_text(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"'{path}' line {number} is not JSON ({e.msg}).") from None
            if not isinstance(row, dict):
                raise DataError(f"'{path}' line {number}: each line must be a JSON object.")
            chunk.append(row)
            if len(chunk) == CHUNK_ROWS:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _conll_chunks(path: Path) -> Iterator[list[dict]]:
    """Sentences as {"lines": the original lines, "tokens": the first column of each}."""
    chunk, lines = [], []
    with _open_text(path) as f:
        for line in itertools.chain(f, ["\n"]):  # streamed; the blank line closes the last sentence
            line = line.rstrip("\r\n")
            if line.strip() and not line.startswith("-DOCSTART-"):
                lines.append(line)
                continue
            if lines:
                chunk.append({"lines": lines, "tokens": [x.split("\t" if "\t" in x else None)[0] for x in lines]})
                lines = []
            if line.startswith("-DOCSTART-"):
                chunk.append({"lines": [line], "tokens": None})
            if len(chunk) >= CHUNK_ROWS:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _text_of(row: dict, column: str, path: Path, number: int) -> str:
    value = row.get(column)
    if not isinstance(value, str):
        raise DataError(f"'{path}' row {number}: '{column}' is {'missing' if value is None else type(value).__name__}"
                        f", not text.")
    return value


def _predict_rows(model, rows: list[dict], kind: str, column: str, path: Path, first: int,
                  structured: bool) -> list[dict]:
    """Add the predictions to ``rows``; ``structured``: the output keeps lists and objects (JSONL)."""
    if kind == "conll":
        sentences = [r for r in rows if r["tokens"]]
        for row, tags in zip(sentences, model.predict_tags([r["tokens"] for r in sentences]) if sentences else []):
            row["lines"] = [f"{line}\t{tag}" for line, tag in zip(row["lines"], tags)]
        return rows
    if model.task == "ner" and kind == "jsonl" and all(isinstance(r.get("tokens"), list) for r in rows):
        for row, tags in zip(rows, model.predict_tags([[str(w) for w in r["tokens"]] for r in rows])):
            row["predicted_tags"] = tags
        return rows
    texts = [_text_of(r, column, path, first + i) for i, r in enumerate(rows)]
    if model.task == "ner":
        for row, entities in zip(rows, model.predict(texts)):
            row["entities"] = entities if structured else json.dumps(entities, ensure_ascii=False)
        return rows
    proba = model.predict_proba(texts)
    for row, label, scores in zip(rows, model.predict(texts), proba):
        row["label" if "label" not in row else "predicted_label"] = label
        if structured:
            row["scores"] = {c: round(float(p), 6) for c, p in zip(model.classes_, scores)}
        else:
            row.update({f"score_{c}": round(float(p), 6) for c, p in zip(model.classes_, scores)})
    return rows


def check_paths(data, output, overwrite: bool = False) -> tuple[str, str]:
    """The input and output formats, or the error a user can fix; run before the model loads."""
    data, output = Path(data), Path(output)
    if not data.is_file():
        raise DataError(f"--data '{data}' does not exist or is not a file.")
    kind, out_kind = _kind(data), _kind(output)
    if (kind == "conll") != (out_kind == "conll"):
        raise ConfigError(f"CoNLL in gives CoNLL out: --data '{data}' and --output '{output}' do not match.")
    if output.exists() and not overwrite:
        raise ConfigError(f"--output '{output}' exists; pass --overwrite to replace it, or choose another file.")
    if output.resolve() == data.resolve():
        raise ConfigError("--output must not be the --data file itself.")
    return kind, out_kind


def predict_file(model, data, output, *, text_column: str | None = None, overwrite: bool = False,
                 progress: bool = True) -> int:
    """Predict every row of ``data`` into ``output`` (see the module's doc); returns the row count."""
    from tqdm.auto import tqdm

    data, output = Path(data), Path(output)
    kind, out_kind = check_paths(data, output, overwrite)
    if kind == "conll" and model.task != "ner":
        raise ConfigError(f"--data '{data}' is a CoNLL file, which only an NER model reads (this model: {model.task}).")
    column = text_column or model.run_config_.text_column
    chunks = {"csv": lambda: _table_chunks(data, kind, column), "tsv": lambda: _table_chunks(data, kind, column),
              "jsonl": lambda: _jsonl_chunks(data), "conll": lambda: _conll_chunks(data)}[kind]()
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    count, header = 0, None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, \
                tqdm(desc="predict", unit=" rows", disable=not progress) as bar:
            for rows in chunks:
                rows = _predict_rows(model, rows, kind, column, data, count + 1, out_kind == "jsonl")
                header = _write(out, rows, out_kind, header)
                count += len(rows)
                bar.update(len(rows))
        if count == 0:
            raise DataError(f"'{data}' holds no rows to predict.")
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def _write(out, rows: list[dict], kind: str, header: list[str] | None) -> list[str] | None:
    import csv

    if kind == "conll":
        out.write("".join("\n".join(r["lines"]) + "\n\n" for r in rows))
        return None
    if kind == "jsonl":
        out.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return None
    writer = csv.writer(out, delimiter="\t" if kind == "tsv" else ",", lineterminator="\n")
    if header is None:
        header = list(dict.fromkeys(k for r in rows for k in r))
        writer.writerow(header)
    writer.writerows([[_cell(r.get(k, "")) for k in header] for r in rows])
    return header


def _cell(value):
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value

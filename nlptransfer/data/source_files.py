"""The text of an input file, or a DataError that says what is wrong with it: missing, empty,
not really gzip, cut short, or not UTF-8 (with the byte and line, and how to convert it)."""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

from ..errors import DataError

__all__ = ["read_source_text", "lines_of"]


def read_source_text(path: str | os.PathLike, where: str,
                     needs: str = "a header row and at least one row of data") -> str:
    """The whole file decoded as UTF-8 (a byte-order mark is dropped); ``.gz`` files are
    decompressed first. ``where`` names the file in messages ("train file 'x.csv'"), ``needs``
    what an empty one lacks."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{where} does not exist (working directory: {os.getcwd()}).")
    if path.is_dir():
        raise DataError(f"{where} is a folder; give the data file inside it.")
    raw = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except gzip.BadGzipFile:
            raise DataError(f"{where} ends in .gz but is not gzip-compressed; rename it without .gz or "
                            f"compress it (gzip FILE).") from None
        except (EOFError, zlib.error) as e:
            raise DataError(f"{where} is a damaged or truncated gzip file ({e}); copy or compress it again.") from None
    if not raw.strip():
        raise DataError(f"{where} is empty or blank; it needs {needs}.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise DataError(f"{where} is not UTF-8 text: byte {e.start} (line {line}) is {raw[e.start:e.start + 1]!r}. "
                        f"Save it as UTF-8, e.g. iconv -f latin1 -t utf-8 IN > OUT for a Latin-1 file.") from None


def lines_of(text: str) -> list[str]:
    """Lines split on newlines only ("\\r\\n" too). Not ``str.splitlines``: that also splits on
    characters a text may hold (NEL, the Unicode line and paragraph separators, form feeds), which
    JSON writes unescaped."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]

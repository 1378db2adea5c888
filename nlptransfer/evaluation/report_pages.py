"""Report pages from sections of text, tables and figures: ``report.md`` and a self-contained
``report.html`` (figures embedded), written side by side."""
from __future__ import annotations

import base64
import html
from pathlib import Path

from ..atomic_files import atomic_write_text

__all__ = ["Table", "fmt", "table", "write_pages"]


def fmt(v, column: str = "") -> str:
    if v is None:
        return "one seed" if column in ("std", "seed_std") else ""
    if column == "fraction":
        return f"{v:g}"
    if isinstance(v, float) and (column.endswith(("_mb", "_per_second")) or abs(v) >= 1000):
        return f"{v:,.0f}"
    if isinstance(v, float) and column.endswith("seconds"):
        return f"{v:.1f}"
    if isinstance(v, int) and column.endswith("params"):
        return f"{v:,d}"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


class Table(list):
    """Rows of cells, the first the header (a type of its own, so a section's list of items is
    never mistaken for one)."""


def table(rows: list[dict], columns: list[str], headers: dict[str, str] | None = None) -> Table:
    header = [(headers or {}).get(c, c) for c in columns]
    return Table([header] + [[fmt(r.get(c), c) for c in columns] for r in rows])


def _md(rows: list[list[str]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def _html_table(rows: list[list[str]]) -> str:
    head, *body = rows
    cells = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    lines = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><tr>{cells}</tr>{lines}</table>"


def write_pages(out: Path, title: str, sections: list[tuple[str, object]]) -> None:
    """``sections``: (heading, content) where content is text, a table (list of rows) or a PNG path."""
    md, body = [f"# {title}"], [f"<h1>{html.escape(title)}</h1>"]
    for heading, content in sections:
        md.append(f"\n## {heading}\n")
        body.append(f"<h2>{html.escape(heading)}</h2>")
        for item in content if isinstance(content, list) and not isinstance(content, Table) else [content]:
            if isinstance(item, Path):
                md.append(f"![{item.stem}]({item.relative_to(out).as_posix()})\n")
                data = base64.b64encode(item.read_bytes()).decode()
                body.append(f'<img alt="{item.stem}" src="data:image/png;base64,{data}">')
            elif isinstance(item, Table):
                md.append(_md(item) + "\n")
                body.append(_html_table(item))
            else:
                md.append(str(item) + "\n")
                body.append(f"<p>{html.escape(str(item))}</p>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px}"
             "th{background:#f3f3f3}img{max-width:100%;margin:.5em 0;display:block}")
    atomic_write_text(out / "report.md", "\n".join(md) + "\n")
    atomic_write_text(out / "report.html", f"<!doctype html><html><head><meta charset='utf-8'><title>"
                      f"{html.escape(title)}</title><style>{style}</style></head><body>{''.join(body)}</body></html>")

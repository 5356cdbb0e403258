"""Aligned plain-text tables for the CLI's listings (faces, drivers)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["render_table"]


def _is_number(text: str) -> bool:
    stripped = text.rstrip("°%x").replace(".", "", 1).replace("-", "", 1)
    return stripped.isdigit()


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns separated by two spaces; numeric columns right-aligned, text left-aligned.

    The last column is never padded, so long descriptions do not leave trailing spaces.
    """
    columns = len(headers)
    for row in rows:
        if len(row) != columns:
            raise ValueError(f"row {list(row)} has {len(row)} cells, expected {columns}")
    widths = [max([len(headers[i])] + [len(row[i]) for row in rows]) for i in range(columns)]
    numeric = [bool(rows) and all(_is_number(row[i]) for row in rows) for i in range(columns)]

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            if i == columns - 1 and not numeric[i]:
                out.append(cell)
            elif numeric[i]:
                out.append(cell.rjust(widths[i]))
            else:
                out.append(cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])

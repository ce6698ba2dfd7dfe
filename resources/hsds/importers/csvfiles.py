"""Reading CSV files row by row with the line each row starts on."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for every data row; the header is line 1. Rows spanning several
    lines (quoted newlines) carry the line they start on. Raises OSError/ValueError when
    the file cannot be read as CSV."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            return
        line = reader.line_num + 1
        for record in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            yield start, dict(zip(header, record, strict=False))


def header(path: Path) -> list[str]:
    """The column names of a CSV file (empty if it has none)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        first = next(csv.reader(handle), [])
    return [h.strip() for h in first]

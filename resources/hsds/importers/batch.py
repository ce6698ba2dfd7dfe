"""What an import collects before it writes: rows per table keyed by their final id, the
rejects and notes, and the counts reported at the end.

Ids: an HSDS 3.0 UUID is kept; any other id (Ohana's integers) becomes
``uuid5(NAMESPACE, f"{source}:{table}:{id}")``, with the original kept in ``source_id``, so
importing the same source again finds the same rows. A row with no id at all (HSDS 1.x
exports have them) gets ``Batch.derived_id``: a uuid5 over the source, the file, the
parent's id and the row's normalized content, so the same row imported again is the same
row.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from resources.hsds.importers.csvfiles import read_rows
from resources.search import reentry_terms

NAMESPACE = uuid.UUID("3b0f6d3e-5f4c-5c1e-8f4e-686f6d657761")


def is_uuid(text: str) -> bool:
    """Whether ``text`` is a UUID in its usual 36-character form."""
    try:
        return len(text) == 36 and str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


class Progress(Protocol):
    """What an import reports as it goes (the CLI draws a progress bar with it)."""

    def begin(self, files: int, rows: int) -> None:
        """Before anything is read: how many files and data rows there are."""

    def file(self, label: str) -> None:
        """A file (or a writing step) starts."""

    def advance(self, rows: int) -> None:
        """``rows`` more data rows were read."""


@dataclass(frozen=True)
class Reject:
    """A row left out, with where it was and why."""

    file: str
    line: int | str  # CSV line number, or a JSON pointer
    reason: str
    table: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class Counts:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class Summary:
    """Counts per table, rejected rows, notes (things read but not imported), and files
    that could not be read at all."""

    tables: dict[str, Counts] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    service_ids: set[str] = field(default_factory=set)  # services created or updated
    layouts: list[tuple[str, str]] = field(default_factory=list)  # (path, layout read)

    def counts(self, table: str) -> Counts:
        return self.tables.setdefault(table, Counts())

    @property
    def total(self) -> Counts:
        total = Counts()
        for counts in self.tables.values():
            total.add(counts)
        return total

    def lines(self) -> list[str]:
        """The summary as text, one table a line, then the total."""
        out = [f"{path}: read as {layout}" for path, layout in self.layouts]
        for name, c in sorted(self.tables.items()):
            out.append(
                f"{name:20} read {c.read:6}  created {c.created:6}  updated {c.updated:6}  "
                f"unchanged {c.unchanged:6}  rejected {c.rejected:6}"
            )
        t = self.total
        out.append(
            f"{'total':20} read {t.read:6}  created {t.created:6}  updated {t.updated:6}  "
            f"unchanged {t.unchanged:6}  rejected {t.rejected:6}"
        )
        return out


@dataclass
class Row:
    table: str
    values: dict[str, Any]
    file: str
    line: int | str


class Batch:
    """The rows of one import path, by table and id, merged when an id comes again (HSDS
    JSON repeats a phone under its service, location and organization)."""

    def __init__(self, source: str, summary: Summary, progress: Progress | None = None) -> None:
        self.source = source[:64]
        self.summary = summary
        self.progress = progress
        self.rows: dict[str, dict[str, Row]] = {}
        self.display: dict[str, str] = {}  # our id -> the source's id, for messages
        # (table, column) pairs whose unknown parent is dropped with a note instead of
        # rejecting the row (HSDS 1.x: a location naming an organization not in the files).
        self.soft: set[tuple[str, str]] = set()
        self.rows_read = 0

    def read_csv(self, path: Path, label: str) -> Iterator[tuple[int, dict[str, str]]]:
        """``csvfiles.read_rows`` of one file, reported to ``progress`` as it goes."""
        if self.progress is not None:
            self.progress.file(label)
        for line, row in read_rows(path):
            self.rows_read += 1
            if self.progress is not None:
                self.progress.advance(1)
            yield line, row

    def derived_id(self, key: str, file: str, parents: Any, row: Mapping[str, Any]) -> str:
        """A stable id for a row that has none: uuid5 over the source, ``key``, the file
        name, the parent ids and the row's content (column names lower-cased, values with
        their spaces collapsed, empty cells and ``id`` left out). The same row, imported
        again, gets the same id; a row whose content changes becomes a new row."""
        content = {
            str(k).strip().lower(): " ".join(str(v).split())
            for k, v in row.items()
            if k is not None and str(k).strip().lower() != "id" and str(v or "").strip()
        }
        text = json.dumps([Path(file).name, parents, content], sort_keys=True, ensure_ascii=False)
        return str(uuid.uuid5(NAMESPACE, f"{self.source}:{key}:row:{text}"))

    def ref(self, key: str, raw: Any) -> str | None:
        """Our id for the source's id ``raw`` of table ``key`` (None when empty)."""
        if raw is None:
            return None
        text = str(raw).strip()
        if not text:
            return None
        if is_uuid(text):
            return text.lower()
        ours = str(uuid.uuid5(NAMESPACE, f"{self.source}:{key}:{text}"))
        self.display[ours] = text
        return ours

    def add(
        self,
        table: str,
        raw_id: Any,
        values: dict[str, Any],
        file: str,
        line: int | str,
        *,
        key: str | None = None,
        global_id: str | None = None,
    ) -> str | None:
        """Add (or merge into) a row; returns its id, or None if it was rejected."""
        ours = global_id or self.ref(key or table, raw_id)
        if ours is None:
            self.reject(table, file, line, "missing id")
            return None
        if ours in (reentry_terms.TAXONOMY_ID, *reentry_terms.TERM_FACETS):
            return ours  # our own taxonomy comes with every export; it is not stored
        text = str(raw_id).strip() if raw_id is not None else None
        values = {**values, "id": ours, "source": self.source}
        values["source_id"] = None if text and is_uuid(text) else text
        table_rows = self.rows.setdefault(table, {})
        if ours in table_rows:
            existing = table_rows[ours].values
            existing.update({k: v for k, v in values.items() if v is not None})
        else:
            table_rows[ours] = Row(table, values, file, line)
            self.summary.counts(table).read += 1
        return ours

    def reject(
        self, table: str, file: str, line: int | str, reason: str, *, read: bool = True
    ) -> None:
        """Report a row left out (counted as read unless it already was)."""
        counts = self.summary.counts(table)
        counts.rejected += 1
        if read:
            counts.read += 1
        self.summary.rejects.append(Reject(file, line, reason, table))

    def note(self, text: str) -> None:
        self.summary.notes.append(text)

    def name(self, ours: str | None) -> str:
        """The id as the source wrote it, for messages."""
        return self.display.get(ours or "", ours or "")

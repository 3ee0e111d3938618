"""A kind of file's columns, and reading a row's cells with each problem noted by line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from app.domain.imports.issues import HEADER_LINE, CellError, ImportIssue
from app.domain.imports.sheets import Cell, Row, Table

T = TypeVar("T")


@dataclass(frozen=True)
class Columns:
    """The columns a file of one kind has: ``required`` ones, then ``optional`` ones."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def check(self, table: Table) -> list[ImportIssue]:
        """The header's problems: a column missing, or one this kind does not know."""
        known = (*self.required, *self.optional)
        issues = [
            ImportIssue(HEADER_LINE, name, "missing column")
            for name in self.required
            if name not in table.columns
        ]
        issues += [
            ImportIssue(HEADER_LINE, name, f"unknown column (the columns are: {', '.join(known)})")
            for name in table.columns
            if name and name not in known
        ]
        return issues


class RowReader:
    """Reads one row's cells, adding a problem to ``issues`` for each refused one."""

    def __init__(self, row: Row, issues: list[ImportIssue]) -> None:
        self.row = row
        self.line = row.line
        self._issues = issues
        self._before = len(issues)

    @property
    def ok(self) -> bool:
        """No problem found in this row so far."""
        return len(self._issues) == self._before

    def refuse(self, column: str, message: str) -> None:
        """Note a problem with ``column`` of this row."""
        self._issues.append(ImportIssue(self.line, column, message))

    def cell(self, column: str) -> Cell:
        """The raw value (None when empty or the column is absent)."""
        return self.row.cells.get(column)

    def required(self, column: str, parse: Callable[[Cell], T]) -> T | None:
        """The parsed value; None (and a problem noted) when empty or refused."""
        value = self.cell(column)
        if value is None:
            self.refuse(column, "empty: a value is required")
            return None
        return self._parse(column, value, parse)

    def optional(self, column: str, parse: Callable[[Cell], T], default: T) -> T:
        """The parsed value, ``default`` when empty (or refused, with a problem noted)."""
        value = self.cell(column)
        if value is None:
            return default
        parsed = self._parse(column, value, parse)
        return default if parsed is None else parsed

    def _parse(self, column: str, value: Cell, parse: Callable[[Cell], T]) -> T | None:
        try:
            return parse(value)
        except CellError as exc:
            self.refuse(column, str(exc))
            return None


class FirstSeen:
    """The line each id was first seen on: a second row with it is a duplicate."""

    def __init__(self, what: str = "id") -> None:
        self.what = what
        self._lines: dict[str, int] = {}

    def check(self, reader: RowReader, column: str, value: str) -> None:
        """Note a duplicate of ``value`` in ``column`` of ``reader``'s row."""
        first = self._lines.setdefault(value, reader.line)
        if first != reader.line:
            reader.refuse(column, f"duplicate {self.what} {value!r}: already on line {first}")

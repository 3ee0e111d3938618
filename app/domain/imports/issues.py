"""What an import says about a file: each problem at its line and column."""

from __future__ import annotations

from dataclasses import dataclass

FILE_LINE = 0
"""The line of a problem with the file itself (unreadable, not a table)."""

HEADER_LINE = 1
"""The header row, as a spreadsheet numbers it; the first record is line 2."""


@dataclass(frozen=True, order=True)
class ImportIssue:
    """One problem: ``line`` as a spreadsheet shows it, ``column`` the column's name
    (empty for a problem with the whole file)."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.line == FILE_LINE:
            return self.message
        return f"line {self.line}, column {self.column}: {self.message}"

    def as_json(self) -> dict[str, int | str]:
        """The ``errors`` entry of ``import --json``."""
        return {"line": self.line, "column": self.column, "message": self.message}


class CellError(ValueError):
    """A cell's value is refused; the message says why (the caller adds line and column)."""

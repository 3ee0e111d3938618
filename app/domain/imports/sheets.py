"""A file's bytes as a table: a header row of column names, then rows at their lines.

CSV (UTF-8 with or without a byte-order mark; comma or semicolon, read off the header
line), XLSX (the first sheet) or JSON (a list of objects, each a row, at lines 2, 3, ...
as if a header came first). Values stay as the file typed them (a spreadsheet's numbers,
dates and times; text stripped, empty text as None): the columns' parsers read them.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time
from pathlib import PurePath

from app.domain.imports.issues import FILE_LINE, HEADER_LINE, ImportIssue

Cell = str | int | float | bool | date | time | None
"""A value as read (``datetime`` is a ``date``): text, a number, a date or a time, or None."""

FORMATS = ("csv", "xlsx", "json")


@dataclass(frozen=True)
class Row:
    """One record of the file: its line (header = 1) and its cells by column name."""

    line: int
    cells: dict[str, Cell]


@dataclass(frozen=True)
class Table:
    """The file's column names (lower case, in file order), its non-blank rows, and the
    problems found in reading it (a file that could not be read has only those)."""

    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    issues: tuple[ImportIssue, ...] = ()


def read_table(data: bytes, filename: str) -> Table:
    """The table in ``data``; ``filename``'s extension (.csv, .xlsx, .json) says which kind."""
    kind = PurePath(filename).suffix.lower().lstrip(".")
    if kind == "csv":
        return _csv(data)
    if kind == "xlsx":
        return _xlsx(data)
    if kind == "json":
        return _json(data)
    return _unreadable(f"{filename}: expected a .csv, .xlsx or .json file")


def _unreadable(message: str) -> Table:
    return Table((), (), (ImportIssue(FILE_LINE, "", message),))


def _clean(value: Cell) -> Cell:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _table(lines: Iterable[tuple[int, Sequence[Cell]]]) -> Table:
    """Header from the first line, then each non-blank row keyed by those names."""
    records = iter(lines)
    first = next(records, None)
    if first is None:
        return _unreadable("the file is empty: expected a header row of column names")
    header = [_clean(c) for c in first[1]]
    while header and header[-1] is None:
        header.pop()  # spreadsheets pad rows with empty cells
    issues: list[ImportIssue] = []
    names: list[str] = []
    for k, cell in enumerate(header):
        name = "" if cell is None else str(cell).lower()
        if not name:
            issues.append(ImportIssue(HEADER_LINE, f"#{k + 1}", "a column without a name"))
        elif name in names:
            issues.append(ImportIssue(HEADER_LINE, name, "this column appears twice"))
        names.append(name)
    rows = []
    for line, values in records:
        cleaned = [_clean(v) for v in values]
        if all(v is None for v in cleaned):
            continue  # a blank line: nothing to import, its number still counts
        beyond = [k for k in range(len(names), len(cleaned)) if cleaned[k] is not None]
        if beyond:
            issues.append(
                ImportIssue(line, f"#{beyond[0] + 1}", "a value in a column without a header")
            )
        cells = {n: (cleaned[k] if k < len(cleaned) else None) for k, n in enumerate(names)}
        rows.append(Row(line, cells))
    return Table(tuple(names), tuple(rows), tuple(issues))


def _csv(data: bytes) -> Table:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return _unreadable(f"not UTF-8 text (byte {exc.start}): save the sheet as CSV UTF-8")
    header = text.splitlines()[0] if text.strip() else ""
    # Column names hold neither separator, so the header line tells which one is used.
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _table((n, row) for n, row in enumerate(reader, start=1))
    except csv.Error as exc:
        return _unreadable(f"not a CSV table: {exc}")


def _xlsx(data: bytes) -> Table:
    import openpyxl  # only an XLSX import pays for loading it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        return _unreadable(f"not an XLSX workbook: {exc}")
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(min_row=1, values_only=True)
        return _table((n, row) for n, row in enumerate(rows, start=1))
    finally:
        book.close()


def _json(data: bytes) -> Table:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _unreadable(f"not JSON: {exc}")
    if not isinstance(document, list) or not all(isinstance(o, dict) for o in document):
        return _unreadable("expected a JSON list of objects, one per row")
    names: dict[str, None] = {}
    for record in document:
        names.update(dict.fromkeys(str(k).strip().lower() for k in record))
    issues: list[ImportIssue] = []
    rows = []
    for line, record in enumerate(document, start=HEADER_LINE + 1):
        cells: dict[str, Cell] = dict.fromkeys(names)
        for key, value in record.items():
            name = str(key).strip().lower()
            if isinstance(value, dict | list):
                message = "expected a plain value, not a list or object"
                issues.append(ImportIssue(line, name, message))
            else:
                cells[name] = _clean(value)
        if any(v is not None for v in cells.values()):
            rows.append(Row(line, cells))
    return Table(tuple(names), tuple(rows), tuple(issues))

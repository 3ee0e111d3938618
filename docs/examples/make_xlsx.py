"""Writes orders.xlsx from orders.csv, as a dispatcher's spreadsheet holds it: dates as date
cells, windows as time cells, numbers as numbers. Run: .venv/bin/python docs/examples/make_xlsx.py
"""

from __future__ import annotations

import csv
from datetime import date, time
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
NUMBERS = {"lat", "lon", "weight_kg", "volume_m3", "service_min"}
TIMES = {"window_start", "window_end"}


def typed(column: str, text: str) -> object:
    """The cell a spreadsheet would hold for ``text`` in ``column``."""
    if not text:
        return None
    if column == "date":
        return date.fromisoformat(text)
    if column in TIMES:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    if column in NUMBERS or (column == "parcels" and text.isdigit()):
        return float(text) if "." in text else int(text)
    return text


def main() -> None:
    with (HERE / "orders.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "orders"
    header = rows[0]
    sheet.append(header)
    for row in rows[1:]:
        sheet.append([typed(c, v) for c, v in zip(header, row, strict=True)])
    for cell in sheet["C"][1:]:
        cell.number_format = "yyyy-mm-dd"
    book.save(HERE / "orders.xlsx")


if __name__ == "__main__":
    main()

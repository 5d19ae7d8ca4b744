"""CSV and XLSX writers for exports (DESIGN.md §7), streaming from iterators of rows.

Pure: no database, no Flask; a row is a sequence of plain values. Both writers put
every value through `cell_value`, so both formats share one rule:

- numbers (int, float) stay numbers; a bool becomes 1 or 0; None is an empty cell;
- any other value becomes text, loses the control characters an XLSX file cannot hold
  (removed in CSV too, so the two formats carry the same text), and is neutralised when
  it starts with `= + - @`, tab, CR or NUL by an apostrophe in front (OWASP "CSV
  injection"): spreadsheet programs then show the text instead of running it.

CSV is UTF-8 with a BOM (so Excel detects the encoding) and CRLF line ends, headed by
the contract's field names (for programs). XLSX is for people: Japanese headings, a
項目説明 sheet mapping them to the field names, real dates, and a table longer than a
sheet continued on the next one; it is written by XlsxWriter (see below).
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO

DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r", "\x00")
NEUTRALISER = "'"
# What XML 1.0 (and so XLSX) cannot hold: C0 controls except tab, LF and CR.
ILLEGAL_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_XLSX_TEXT = 32767  # Excel's limit for one cell
CSV_BOM = "\ufeff"
CSV_FLUSH_ROWS = 500
MIN_WIDTH, MAX_WIDTH = 8, 60

CellValue = str | int | float | None


@dataclass(frozen=True)
class Sheet:
    """One table: a Japanese sheet title, a header and an iterator of rows.

    `header` holds the contract's field names (the CSV header, DESIGN.md §7); `labels`
    the Japanese heading of each (the XLSX header row) and `notes` what a column holds
    (the XLSX 項目説明 sheet). `widths` gives a column's width in characters (default:
    from the heading); `formats` an Excel number format per column name, e.g.
    {"overall": "0.0"}. A `datetime` value is written as ISO 8601 in CSV (with its
    offset when it has one) and as a real date and time in XLSX; a `date` likewise.
    """

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[object]]
    widths: Mapping[str, float] = field(default_factory=dict)
    formats: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)

    def label(self, name: str) -> str:
        return self.labels.get(name) or name


# --- one cell -----------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Prefix text that a spreadsheet would read as a formula with an apostrophe."""
    return NEUTRALISER + text if text.startswith(DANGEROUS_STARTS) else text


def unneutralise(text: str) -> str:
    """Undo `neutralise` on text read back from an exported file."""
    rest = text[len(NEUTRALISER):]
    return rest if text.startswith(NEUTRALISER) and rest.startswith(DANGEROUS_STARTS) else text


def clean_text(text: str) -> str:
    return ILLEGAL_CONTROL.sub("", text)


def cell_value(value: object) -> CellValue:
    """A value as it goes into a cell: a number, None, or safe text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return neutralise(clean_text(str(value)))


def display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: full-width (Japanese) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# --- CSV ----------------------------------------------------------------------------


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
    """The CSV file as UTF-8 byte chunks (BOM first, CRLF), a few hundred rows each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(CSV_BOM)
    writer.writerow([cell_value(name) for name in header])
    for count, row in enumerate(rows, start=1):
        writer.writerow(["" if v is None else v for v in map(cell_value, row)])
        if count % CSV_FLUSH_ROWS == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def write_csv(out: IO[bytes], header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    for chunk in csv_chunks(header, rows):
        out.write(chunk)


# --- XLSX ---------------------------------------------------------------------------
# XlsxWriter in constant-memory mode: each row goes to the sheet's temporary file as it
# comes, so memory stays flat however many rows there are; bench/export.py measured it
# about 1.7x faster than openpyxl's write-only mode for the same rows (bench/README.md).
# Every value is written by its type (text always as text, never as a formula).

XLSX_MAX_ROWS = 1_048_576  # Excel's rows per sheet; a longer table continues on a new sheet
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
GUIDE_TITLE = "項目説明"
GUIDE_HEADER = ("シート", "列", "見出し", "項目名（CSV）", "説明")
XLSX_OPTIONS = {"constant_memory": True, "strings_to_formulas": False,
                "strings_to_urls": False, "strings_to_numbers": False}


def write_xlsx(out: IO[bytes] | str, sheets: Iterable[Sheet], *,
               max_rows: int = XLSX_MAX_ROWS, guide: bool = True) -> None:
    """Write the sheets (in order) as one workbook to a binary file or a path.

    Each sheet's header row shows its Japanese `labels` (the contract's field name
    where a column has none); with `guide`, a last sheet 項目説明 maps every heading to
    its field name and says what the column holds. A table longer than `max_rows`
    (header included) continues on sheets named `回答 (2)`, `回答 (3)` …"""
    import xlsxwriter  # imported where used: a CSV never pays for it

    workbook = xlsxwriter.Workbook(out, XLSX_OPTIONS)
    styles = XlsxStyles(workbook)
    written = [(title, sheet) for sheet in sheets
               for title in _write_sheet(workbook, styles, sheet, max_rows)]
    if guide:
        _write_guide(workbook, styles, written)
    workbook.close()


class XlsxStyles:
    """The workbook's cell formats, made once (XlsxWriter keeps one per format)."""

    def __init__(self, workbook) -> None:
        self.workbook = workbook
        self.header = workbook.add_format({"bold": True, "bg_color": "#EEF1F5",
                                           "text_wrap": True, "valign": "top"})
        self.datetime = workbook.add_format({"num_format": DATETIME_FORMAT})
        self.date = workbook.add_format({"num_format": DATE_FORMAT})
        self.numbers: dict[str, object] = {}

    def number(self, number_format: str | None):
        if number_format is None:
            return None
        if number_format not in self.numbers:
            self.numbers[number_format] = self.workbook.add_format(
                {"num_format": number_format})
        return self.numbers[number_format]


def _write_sheet(workbook, styles: XlsxStyles, sheet: Sheet, max_rows: int) -> list[str]:
    """Write `sheet` on as many worksheets as its rows need; returns their titles."""
    formats = [styles.number(sheet.formats.get(name)) for name in sheet.header]
    titles: list[str] = []
    worksheet, row_number = None, max_rows
    for row in sheet.rows:
        if row_number >= max_rows:
            titles.append(_continued(sheet.title, len(titles) + 1))
            worksheet, row_number = _new_worksheet(workbook, styles, sheet, titles[-1]), 1
        _write_row(worksheet, styles, row_number, row, formats)
        row_number += 1
    if not titles:  # no rows: the header alone
        titles.append(sheet.title)
        _new_worksheet(workbook, styles, sheet, sheet.title)
    return titles


def _continued(title: str, number: int) -> str:
    return title if number == 1 else f"{title} ({number})"


def _new_worksheet(workbook, styles: XlsxStyles, sheet: Sheet, title: str):
    worksheet = workbook.add_worksheet(title)
    worksheet.freeze_panes(1, 0)
    for index, name in enumerate(sheet.header):
        heading = sheet.label(name)
        width = sheet.widths.get(name) or display_width(heading) + 2
        worksheet.set_column(index, index, min(MAX_WIDTH, max(MIN_WIDTH, width)))
        worksheet.write_string(0, index, xlsx_value(heading), styles.header)
    return worksheet


def _write_row(worksheet, styles: XlsxStyles, row_number: int, row: Sequence[object],
               formats: Sequence[object]) -> None:
    for column, value in enumerate(row):
        if isinstance(value, datetime):
            local = value.replace(tzinfo=None) if value.tzinfo else value
            worksheet.write_datetime(row_number, column, local, styles.datetime)
            continue
        if isinstance(value, date):
            worksheet.write_datetime(row_number, column,
                                     datetime(value.year, value.month, value.day),
                                     styles.date)
            continue
        cleaned = xlsx_value(value)
        if isinstance(cleaned, str):
            worksheet.write_string(row_number, column, cleaned)
        elif cleaned is not None:
            number_format = formats[column] if column < len(formats) else None
            worksheet.write_number(row_number, column, cleaned, number_format)


def _write_guide(workbook, styles: XlsxStyles, written: Sequence[tuple[str, Sheet]]) -> None:
    """The 項目説明 sheet: per sheet and column, its heading, field name and note."""
    guide = Sheet(GUIDE_TITLE, GUIDE_HEADER, [
        [title, index, sheet.label(name), name, sheet.notes.get(name, "")]
        for title, sheet in written for index, name in enumerate(sheet.header, start=1)],
        widths={"シート": 12, "列": 6, "見出し": 28, "項目名（CSV）": 22, "説明": 70})
    worksheet = _new_worksheet(workbook, styles, guide, GUIDE_TITLE)
    for row_number, row in enumerate(guide.rows, start=1):
        _write_row(worksheet, styles, row_number, row, ())


def xlsx_value(value: object) -> CellValue:
    cleaned = cell_value(value)
    if isinstance(cleaned, str) and len(cleaned) > MAX_XLSX_TEXT:
        return cleaned[:MAX_XLSX_TEXT]
    return cleaned

"""CSV and XLSX writers for exports (DESIGN.md §7), streaming from iterators of rows.

Pure: no database, no Flask; a row is a sequence of plain values. Both writers put
every value through `cell_value`, so both formats share one rule:

- numbers (int, float) stay numbers; a bool becomes 1 or 0; None is an empty cell;
- any other value becomes text, loses the control characters an XLSX file cannot hold
  (removed in CSV too, so the two formats carry the same text), and is neutralised when
  it starts with `= + - @`, tab, CR or NUL by an apostrophe in front (OWASP "CSV
  injection"): spreadsheet programs then show the text instead of running it.

CSV is UTF-8 with a BOM (so Excel detects the encoding) and CRLF line ends. XLSX uses
openpyxl's write-only mode: rows go to a temporary file as they come, so memory stays
flat however many rows there are.
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
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

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

    `widths` gives a column's width in characters (default: from the header);
    `formats` an Excel number format per column name, e.g. {"overall": "0.0"}.
    """

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[object]]
    widths: Mapping[str, float] = field(default_factory=dict)
    formats: Mapping[str, str] = field(default_factory=dict)


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


def write_xlsx(out: IO[bytes] | str, sheets: Iterable[Sheet]) -> None:
    """Write the sheets (in order) as one workbook to a binary file or a path."""
    from openpyxl import Workbook  # imported where used: a CSV never pays for it

    workbook = Workbook(write_only=True)
    for sheet in sheets:
        _write_sheet(workbook, sheet)
    workbook.save(out)


def _write_sheet(workbook: Workbook, sheet: Sheet) -> None:
    from openpyxl.utils import get_column_letter

    worksheet = workbook.create_sheet(sheet.title)
    worksheet.freeze_panes = "A2"
    for index, name in enumerate(sheet.header, start=1):
        width = sheet.widths.get(name) or display_width(name) + 2
        worksheet.column_dimensions[get_column_letter(index)].width = (
            min(MAX_WIDTH, max(MIN_WIDTH, width)))
    worksheet.append([_header_cell(worksheet, name) for name in sheet.header])
    formats = [sheet.formats.get(name) for name in sheet.header]
    for row in sheet.rows:
        worksheet.append(_xlsx_row(worksheet, row, formats))


def _header_cell(worksheet, name: str) -> WriteOnlyCell:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cell = WriteOnlyCell(worksheet, value=cell_value(name))
    cell.font = Font(bold=True)
    return cell


def _xlsx_row(worksheet, row: Sequence[object],
              formats: Sequence[str | None]) -> list:
    values = [xlsx_value(value) for value in row]
    if not any(formats):
        return values
    return [_formatted(worksheet, value, number_format)
            for value, number_format in zip(values, formats, strict=False)]


def xlsx_value(value: object) -> CellValue:
    cleaned = cell_value(value)
    if isinstance(cleaned, str) and len(cleaned) > MAX_XLSX_TEXT:
        return cleaned[:MAX_XLSX_TEXT]
    return cleaned


def _formatted(worksheet, value: CellValue, number_format: str | None):
    if number_format is None or not isinstance(value, int | float):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(worksheet, value=value)
    cell.number_format = number_format
    return cell

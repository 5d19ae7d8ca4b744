"""Evidence attachments as files (DESIGN.md §13): which files are accepted, decided by
their content and not only their name, without the database.

Accepted: PDF, PNG, JPEG, XLSX, DOCX, CSV and TXT. A file is refused (`Invalid`, with a
Japanese message naming the file) when
- its name is empty, too long, or holds path parts (`/`, `\\`, `..`, a drive's `:`) or
  control characters (a NUL, a bidirectional override that would disguise `.exe`);
- it is empty or larger than the limit (`ATTACHMENT_MAX_BYTES`);
- its extension is not one of the accepted ones, or its content is not what the
  extension says (an executable named `.pdf`, a PNG named `.docx`);
- it is an XLSX or DOCX whose zip would unpack to too much, packs too tightly (a zip
  bomb), holds too many entries or macros, or whose central directory disagrees with
  its entries. The zip is never unpacked: only its directory and the fixed-size local
  headers are read (`zip_entries`, also used for the self-check workbook upload);
- it is a CSV or TXT that is not text in UTF-8 or Shift_JIS (cp932).
"""

from __future__ import annotations

import hashlib
import io
import struct
import unicodedata
import zipfile
from dataclasses import dataclass

from surveyapp.model import N_, size_text
from surveyapp.refusals import Invalid

MAX_NAME_LENGTH = 200
ZIP_MAX_ENTRIES = 5000
ZIP_MAX_UNPACKED_BYTES = 256 * 1024 * 1024
ZIP_MAX_RATIO = 200  # unpacked / packed, for an entry larger than ZIP_RATIO_FLOOR
ZIP_RATIO_FLOOR = 1024 * 1024
TEXT_ENCODINGS = ("utf-8-sig", "cp932")


@dataclass(frozen=True)
class Kind:
    name: str  # what the messages call it
    media_type: str
    extensions: tuple[str, ...]


KINDS = {
    "pdf": Kind("PDF", "application/pdf", (".pdf",)),
    "png": Kind("PNG", "image/png", (".png",)),
    "jpeg": Kind("JPEG", "image/jpeg", (".jpg", ".jpeg")),
    "xlsx": Kind("XLSX (Excel)", "application/vnd.openxmlformats-officedocument."
                 "spreadsheetml.sheet", (".xlsx",)),
    "docx": Kind("DOCX (Word)", "application/vnd.openxmlformats-officedocument."
                 "wordprocessingml.document", (".docx",)),
    "csv": Kind("CSV", "text/csv", (".csv",)),
    "txt": Kind("TXT", "text/plain", (".txt",)),
}
ACCEPTED = "PDF, PNG, JPEG, XLSX, DOCX, CSV, TXT"
# The part of an OOXML package that says which application it belongs to.
OOXML_MAIN_PART = {"xlsx": "xl/workbook.xml", "docx": "word/document.xml"}
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf",
                    b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")


@dataclass(frozen=True)
class CheckedFile:
    """An accepted attachment: its cleaned name, kind, content and sha256."""

    filename: str
    kind: str
    data: bytes

    @property
    def media_type(self) -> str:
        return KINDS[self.kind].media_type

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def check_attachment(filename: str | None, data: bytes, max_bytes: int) -> CheckedFile:
    """The file if it may be attached; raises `Invalid` saying why not."""
    name = clean_filename(filename)
    if not data:
        raise Invalid(N_("「%(name)s」は空のファイル（0バイト）です。"
                         "中身のあるファイルを選んでください。"),
                      name=name)
    if len(data) > max_bytes:
        raise Invalid(N_("「%(name)s」は大きすぎます（%(size)s）。"
                         "1ファイル %(limit)s までです。"),
                      name=name, size=size_text(len(data)), limit=size_text(max_bytes))
    expected = kind_of_name(name)
    found = kind_of_content(data, expected)
    if found != expected:
        raise Invalid(N_("「%(name)s」の中身は拡張子の示す %(expected)s ではありません"
                         "（%(found)s）。この種類のファイルは添付できません。"),
                      name=name, expected=KINDS[expected].name, found=content_label(found))
    if expected in OOXML_MAIN_PART:
        check_ooxml(name, data, expected)
    return CheckedFile(name, expected, data)


def clean_filename(raw: str | None) -> str:
    """The name as typed, in NFC; refused with path parts or control characters."""
    name = unicodedata.normalize("NFC", raw or "").strip()
    if not name:
        raise Invalid(N_("ファイル名がありません。名前の付いたファイルを選んでください。"))
    shown = "".join(char if char.isprintable() else "?" for char in name)[:60]
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in name):
        raise Invalid(N_("ファイル名「%(name)s」に制御文字が含まれています。"
                         "名前を付け直してから選んでください。"), name=shown)
    if any(mark in name for mark in ("/", "\\", ":")) or name in (".", "..") or (
            name.startswith(".")):
        raise Invalid(N_("ファイル名「%(name)s」にフォルダの区切り（/ \\ :）や「..」が"
                         "含まれています。ファイル名だけの名前を付け直してから選んでください。"),
                      name=shown)
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(N_("ファイル名が長すぎます（%(n)d文字以内）。"), n=MAX_NAME_LENGTH)
    return name


def kind_of_name(name: str) -> str:
    lowered = name.lower()
    for key, kind in KINDS.items():
        if lowered.endswith(kind.extensions):
            return key
    raise Invalid(N_("「%(name)s」は添付できない種類のファイルです。"
                     "添付できるのは %(kinds)s です。"),
                  name=name, kinds=ACCEPTED)


def kind_of_content(data: bytes, expected: str) -> str:
    """What the bytes are: a key of KINDS, "zip" (another zip), "executable" or
    "unknown". Text is told apart from binary by its content; whether text is a CSV or
    a TXT only its name can say, so text takes the expected one of the two."""
    if data.startswith(EXECUTABLE_MAGIC):
        return "executable"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        return ooxml_kind(data)
    if is_text(data):
        return expected if expected in ("csv", "txt") else "text"
    return "unknown"


def content_label(found: str) -> str:
    labels = {"executable": N_("実行ファイル"), "zip": N_("ZIP 圧縮ファイル"),
              "text": N_("テキスト"), "unknown": N_("不明な形式")}
    return labels.get(found, KINDS[found].name if found in KINDS else found)


def ooxml_kind(data: bytes) -> str:
    """"xlsx" or "docx" by the package's main part, else "zip" (the directory only)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = set(package.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return "unknown"
    if "[Content_Types].xml" in names:
        for kind, part in OOXML_MAIN_PART.items():
            if part in names:
                return kind
    return "zip"


def is_text(data: bytes) -> bool:
    """UTF-8 or cp932 text without NUL or other binary control characters."""
    for encoding in TEXT_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return not any(unicodedata.category(char) == "Cc" and char not in "\t\n\r\f\x1a"
                       for char in text)
    return False


def check_ooxml(name: str, data: bytes, kind: str) -> None:
    entries = zip_entries(data, name, ZIP_MAX_UNPACKED_BYTES)
    if any(entry.filename.lower().endswith("vbaproject.bin") for entry in entries):
        raise Invalid(N_("「%(name)s」はマクロを含んでいます。"
                         "マクロなしで保存した %(kind)s を添付してください。"),
                      name=name, kind=KINDS[kind].name)


def zip_entries(data: bytes, name: str, max_unpacked: int) -> list[zipfile.ZipInfo]:
    """The entries of a zip read from its central directory, refused (`Invalid`) when
    it would unpack to more than `max_unpacked` bytes, packs an entry more tightly than
    ZIP_MAX_RATIO, has more than ZIP_MAX_ENTRIES entries, or its directory disagrees
    with the entries' local headers. Nothing is decompressed."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            entries = package.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Invalid(N_("「%(name)s」は壊れているか、正しい形式ではありません。"),
                      name=name) from None
    unpacked = sum(entry.file_size for entry in entries)
    if len(entries) > ZIP_MAX_ENTRIES or unpacked > max_unpacked or any(
            packs_too_tightly(entry) for entry in entries) or not headers_agree(data, entries):
        raise Invalid(N_("「%(name)s」は展開すると極端に大きくなる圧縮ファイル（ZIP爆弾の疑い）"
                         "のため受け付けません。通常の方法で保存し直したファイルを選んでください。"),
                      name=name)
    return entries


def packs_too_tightly(entry: zipfile.ZipInfo) -> bool:
    if entry.file_size <= ZIP_RATIO_FLOOR:
        return False
    return entry.file_size > ZIP_MAX_RATIO * max(entry.compress_size, 1)


LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # signature ... sizes, name and extra lengths


def headers_agree(data: bytes, entries: list[zipfile.ZipInfo]) -> bool:
    """Each entry's local header is where the directory says, and (unless sizes follow
    the data, flag bit 3) claims the same sizes: a directory that understates what an
    entry unpacks to would hide a bomb from the checks above."""
    packed = 0
    for entry in entries:
        start = entry.header_offset
        header = data[start:start + LOCAL_HEADER.size]
        if len(header) < LOCAL_HEADER.size:
            return False
        signature, _version, flags, _method, _time, _date, _crc, size, unpacked, *_ = (
            LOCAL_HEADER.unpack(header))
        if signature != b"PK\x03\x04":
            return False
        if not flags & 0x08 and (size, unpacked) != (entry.compress_size, entry.file_size) \
                and 0xFFFFFFFF not in (size, unpacked):
            return False
        packed += entry.compress_size
    return packed <= len(data)

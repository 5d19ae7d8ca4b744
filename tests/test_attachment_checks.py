"""formats/attachments.py: which files may be attached, decided by content (DESIGN.md
§13), and zip archives checked by their directory without unpacking anything."""

from __future__ import annotations

import io
import struct
import zipfile

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveyapp.formats import attachments
from surveyapp.formats.attachments import check_attachment, zip_entries
from surveyapp.refusals import Invalid

LIMIT = 10 * 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56 + b"This program cannot be run"


def xlsx(extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "台帳"
    workbook.save(out)
    if extra:
        with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as package:
            for name, data in extra.items():
                package.writestr(name, data)
    return out.getvalue()


def docx(extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document/>")
        for name, data in (extra or {}).items():
            package.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


@pytest.fixture
def never_unpacked(monkeypatch):
    """Opening an entry of a zip for reading (decompressing it) fails the test; the
    test's own writing of zips goes on."""
    original = zipfile.ZipFile.open

    def refuse(self, name, mode="r", *args, **kwargs):
        if mode == "r":
            raise AssertionError("a zip entry was unpacked")
        return original(self, name, mode, *args, **kwargs)
    monkeypatch.setattr(zipfile.ZipFile, "open", refuse)


@pytest.mark.parametrize("name, data, kind", [
    ("報告.pdf", PDF, "pdf"), ("画面.PNG", PNG, "png"), ("写真.jpg", JPEG, "jpeg"),
    ("写真.jpeg", JPEG, "jpeg"), ("台帳.xlsx", xlsx(), "xlsx"), ("手順.docx", docx(), "docx"),
    ("一覧.csv", "所属,確認日\r\n0302,2021-06-30\r\n".encode("utf-8-sig"), "csv"),
    ("一覧.csv", "所属,確認日\r\n医務薬事課,2021-06-30\r\n".encode("cp932"), "csv"),
    ("メモ.txt", "確認しました\n".encode(), "txt")])
def test_the_accepted_kinds_pass_by_content(name, data, kind):
    checked = check_attachment(name, data, LIMIT)
    assert (checked.kind, checked.filename, checked.size) == (kind, name, len(data))
    assert checked.media_type == attachments.KINDS[kind].media_type


def test_an_executable_named_pdf_is_refused():
    with pytest.raises(Invalid, match="中身は拡張子の示す PDF ではありません（実行ファイル）"):
        check_attachment("見積書.pdf", EXECUTABLE, LIMIT)


@pytest.mark.parametrize("name, data", [
    ("画像.docx", PNG), ("報告.png", PDF), ("スクリプト.txt", b"#!/bin/sh\nrm -rf /\n"),
    ("データ.txt", b"\x00\x01\x02binary\xff\xfe"), ("台帳.xlsx", docx()),
    ("圧縮.docx", zipfile.ZipFile.__name__.encode() + b"not a zip"), ("本.pdf", b" %PDF-1.4")])
def test_content_that_is_not_what_the_extension_says_is_refused(name, data):
    with pytest.raises(Invalid, match="中身は拡張子の示す"):
        check_attachment(name, data, LIMIT)


@pytest.mark.parametrize("name", ["setup.exe", "macro.xlsm", "archive.zip", "page.html",
                                  "image.svg", "noextension"])
def test_other_kinds_are_refused_by_name(name):
    with pytest.raises(Invalid, match="添付できない種類のファイル"):
        check_attachment(name, PDF, LIMIT)


def test_a_zero_byte_file_is_refused():
    with pytest.raises(Invalid, match="空のファイル（0バイト）"):
        check_attachment("空.pdf", b"", LIMIT)


def test_a_file_above_the_limit_is_refused_with_both_sizes():
    with pytest.raises(Invalid, match=r"大きすぎます（1 MB）。1ファイル 1023 KB まで"):
        check_attachment("大.pdf", PDF + b"\x00" * (1024 * 1024 - len(PDF)), 1023 * 1024)


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "folder/report.pdf",
                                  "C:\\Users\\x\\report.pdf", "report.pdf:hidden", "..",
                                  ".htaccess.txt", "/abs.pdf"])
def test_a_file_name_with_path_parts_is_refused(name):
    with pytest.raises(Invalid, match="フォルダの区切り"):
        check_attachment(name, PDF, LIMIT)


@pytest.mark.parametrize("name", ["report\x00.pdf", "報告\u202efdp.exe", "line\nbreak.pdf",
                                  "zero\u200bwidth.pdf", "bell\x07.pdf"])
def test_a_file_name_with_control_characters_is_refused(name):
    with pytest.raises(Invalid, match="制御文字"):
        check_attachment(name, PDF, LIMIT)


@pytest.mark.parametrize("name", ["", "   ", None])
def test_a_file_without_a_name_is_refused(name):
    with pytest.raises(Invalid, match="ファイル名がありません"):
        check_attachment(name, PDF, LIMIT)


def test_a_zip_bomb_in_an_xlsx_is_refused_without_unpacking(never_unpacked):
    bomb = xlsx({"xl/worksheets/sheet9.xml": b"\x00" * (20 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024  # small on the wire, 20 MB unpacked
    with pytest.raises(Invalid, match="ZIP爆弾の疑い"):
        check_attachment("集計.xlsx", bomb, LIMIT)


def test_a_zip_bomb_in_a_docx_is_refused_without_unpacking(never_unpacked):
    bomb = docx({f"word/media/image{n}.bin": b"A" * (3 * 1024 * 1024) for n in range(4)})
    with pytest.raises(Invalid, match="ZIP爆弾の疑い"):
        check_attachment("手順書.docx", bomb, LIMIT)


def test_a_package_claiming_to_unpack_to_too_much_is_refused(never_unpacked, monkeypatch):
    monkeypatch.setattr(attachments, "ZIP_MAX_UNPACKED_BYTES", 1024 * 1024)
    package = docx({f"word/part{n}.xml": bytes(range(256)) * 1500 for n in range(4)})
    with pytest.raises(Invalid, match="ZIP爆弾の疑い"):
        check_attachment("大きい.docx", package, LIMIT)


def test_a_package_with_too_many_entries_is_refused(never_unpacked, monkeypatch):
    monkeypatch.setattr(attachments, "ZIP_MAX_ENTRIES", 50)
    package = docx({f"word/part{n}.xml": b"<p/>" for n in range(60)})
    with pytest.raises(Invalid, match="ZIP爆弾の疑い"):
        check_attachment("多い.docx", package, LIMIT)


def understated(data: bytes, entry: str, size: int) -> bytes:
    """The zip with `entry`'s uncompressed size in the central directory set to `size`
    (its local header keeps the true one)."""
    start = data.index(b"PK\x01\x02")
    while True:
        name_length = struct.unpack("<H", data[start + 28:start + 30])[0]
        if data[start + 46:start + 46 + name_length] == entry.encode():
            break
        extra, comment = struct.unpack("<HH", data[start + 30:start + 34])
        start = data.index(b"PK\x01\x02", start + 46 + name_length + extra + comment)
    return data[:start + 24] + struct.pack("<L", size) + data[start + 28:]


def test_a_central_directory_that_understates_an_entry_is_refused(never_unpacked):
    honest = docx({"word/media/big.bin": b"\x00" * (5 * 1024 * 1024)})
    lying = understated(honest, "word/media/big.bin", 1000)
    assert zipfile.ZipFile(io.BytesIO(lying)).getinfo("word/media/big.bin").file_size == 1000
    with pytest.raises(Invalid, match="ZIP爆弾の疑い"):
        check_attachment("偽装.docx", lying, LIMIT)


def test_a_package_with_macros_is_refused(never_unpacked):
    with pytest.raises(Invalid, match="マクロ"):
        check_attachment("台帳.xlsx", xlsx({"xl/vbaProject.bin": b"\x00" * 64}), LIMIT)


def test_the_self_check_workbook_upload_uses_the_same_zip_checks(never_unpacked):
    from surveyapp.formats import selfcheck_workbook

    bomb = xlsx({"xl/worksheets/sheet9.xml": b"\x00" * (30 * 1024 * 1024)})
    with pytest.raises(Invalid, match="ZIP爆弾の疑い"):
        selfcheck_workbook.check_package(bomb, "自己点検.xlsx")


def test_zip_entries_reads_only_the_directory(never_unpacked):
    names = [entry.filename for entry in zip_entries(docx(), "a.docx", LIMIT)]
    assert names == ["[Content_Types].xml", "word/document.xml"]


@given(name=st.text(max_size=40), data=st.binary(max_size=300))
def test_any_upload_is_accepted_or_refused_with_a_message(name, data):
    try:
        checked = check_attachment(name, data, LIMIT)
    except Invalid as refused:
        assert str(refused)
    else:
        assert checked.kind in attachments.KINDS and checked.data == data

"""File-type detection by content: real small files are built here, byte by byte."""

from __future__ import annotations

import gzip
import io
import random
import struct
import tarfile
import time
import tracemalloc
import zipfile
import zlib

import pytest

from bot.filetypes import Detection, FileKind, Refusal, detect
from tests.files import make_ole2

# -- builders ------------------------------------------------------------------------------


def make_pdf() -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def make_png() -> bytes:
    """A 1×1 red RGB PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte + one RGB pixel
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", pixels)
        + png_chunk(b"IEND", b"")
    )


def jpeg_segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def make_jpeg() -> bytes:
    """An 8×8 mid-grey baseline JPEG: one block, DC difference 0, then end-of-block."""
    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    quant = b"\x00" + b"\x01" * 64
    frame = struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00"
    # One code of length 1 per table: DC category 0, AC end-of-block (0x00).
    dc_table = b"\x00" + b"\x01" + b"\x00" * 15 + b"\x00"
    ac_table = b"\x10" + b"\x01" + b"\x00" * 15 + b"\x00"
    scan = b"\x01\x01\x00\x00\x3f\x00"
    entropy = b"\x3f"  # bits 0 (DC) 0 (EOB), padded with ones
    return (
        b"\xff\xd8"
        + jpeg_segment(0xE0, jfif)
        + jpeg_segment(0xDB, quant)
        + jpeg_segment(0xC0, frame)
        + jpeg_segment(0xC4, dc_table)
        + jpeg_segment(0xC4, ac_table)
        + jpeg_segment(0xDA, scan)
        + entropy
        + b"\xff\xd9"
    )


def make_webp_header() -> bytes:
    """The RIFF/WEBP container of a lossless image (signature-level, not decodable)."""
    chunk = b"VP8L" + struct.pack("<I", 5) + b"\x2f\x00\x00\x00\x00" + b"\x00"
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def make_ftyp(major: bytes, *compatible: bytes, meta: bool = True) -> bytes:
    """The leading ``ftyp`` box of an ISO media file (HEIC, MP4, AVIF…), then an empty ``meta``
    box (version and flags only) where an image's item table would be."""
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    boxes = struct.pack(">I", 4 + len(body)) + body + b"\x00\x00\x00\x08free"
    return boxes + (b"\x00\x00\x00\x0cmeta\x00\x00\x00\x00" if meta else b"")


def office_zip(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>'
)
RELS = '<?xml version="1.0"?><Relationships/>'


def make_docx(*, macros: bool = False) -> bytes:
    parts = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": RELS,
        "word/document.xml": '<?xml version="1.0"?><w:document/>',
    }
    if macros:
        parts["word/vbaProject.bin"] = "vba"
    return office_zip(parts)


def make_xlsx() -> bytes:
    return office_zip(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "_rels/.rels": RELS,
            "xl/workbook.xml": '<?xml version="1.0"?><workbook/>',
            "xl/worksheets/sheet1.xml": '<?xml version="1.0"?><worksheet/>',
        }
    )


def make_pe() -> bytes:
    """A DOS/PE header as a Windows program starts."""
    dos = b"MZ" + b"\x90\x00" + b"\x00" * 56 + struct.pack("<I", 64)
    return dos + b"PE\x00\x00" + struct.pack("<HH", 0x14C, 0) + b"\x00" * 64


def make_elf() -> bytes:
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\x00" * 8
    return ident + struct.pack("<HHI", 2, 0x3E, 1) + b"\x00" * 48


def make_zip() -> bytes:
    return office_zip({"photos/label.jpg": "not really", "notes.txt": "hello"})


def make_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo("notes.txt")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"hello"))
    return buffer.getvalue()


# -- accepted ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind", "mime", "extension"),
    [
        (make_pdf(), FileKind.PDF, "application/pdf", "pdf"),
        (make_jpeg(), FileKind.JPEG, "image/jpeg", "jpg"),
        (make_png(), FileKind.PNG, "image/png", "png"),
        (make_webp_header(), FileKind.WEBP, "image/webp", "webp"),
        (make_ftyp(b"heic", b"mif1", b"heic"), FileKind.HEIC, "image/heic", "heic"),
        (make_ftyp(b"mif1", b"mif1", b"heic"), FileKind.HEIC, "image/heic", "heic"),
        (make_ftyp(b"mif1", b"mif1"), FileKind.HEIF, "image/heif", "heif"),
        (make_ole2("WordDocument"), FileKind.DOC, "application/msword", "doc"),
        (
            make_docx(),
            FileKind.DOCX,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
        ),
        (
            make_xlsx(),
            FileKind.XLSX,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    ],
    ids=["pdf", "jpeg", "png", "webp", "heic", "mif1-heic", "heif", "doc", "docx", "xlsx"],
)
def test_accepted_kinds(data: bytes, kind: FileKind, mime: str, extension: str) -> None:
    result = detect(data)

    assert result == Detection(kind)
    assert result.accepted
    assert (result.mime_type, result.extension) == (mime, extension)


def test_built_png_is_well_formed() -> None:
    data = make_png()
    (length,) = struct.unpack(">I", data[33:37])
    assert data[37:41] == b"IDAT"
    assert zlib.decompress(data[41 : 41 + length]) == b"\x00\xff\x00\x00"


# -- refused -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "refusal"),
    [
        (b"", Refusal.EMPTY),
        (make_pe(), Refusal.EXECUTABLE),
        (make_elf(), Refusal.EXECUTABLE),
        (b"\xcf\xfa\xed\xfe" + b"\x00" * 28, Refusal.EXECUTABLE),
        (b"#!/bin/sh\nrm -rf /\n", Refusal.EXECUTABLE),
        (make_zip(), Refusal.ARCHIVE),
        (make_tar(), Refusal.ARCHIVE),
        (gzip.compress(b"hello"), Refusal.ARCHIVE),
        (b"Rar!\x1a\x07\x01\x00" + b"\x00" * 16, Refusal.ARCHIVE),
        (b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24, Refusal.ARCHIVE),
        (random.Random(2026).randbytes(4096), Refusal.UNKNOWN),
        (b"just some text, not a document", Refusal.UNKNOWN),
        (b"<html><body>%PDF-1.4</body></html>", Refusal.UNKNOWN),
        (make_ole2("Workbook"), Refusal.UNKNOWN),
        (make_ftyp(b"isom", b"isom", b"mp41"), Refusal.UNKNOWN),
        (make_ftyp(b"mif1", b"mif1", b"avif"), Refusal.UNKNOWN),
        (make_docx()[:60], Refusal.UNKNOWN),
    ],
    ids=[
        "empty",
        "windows-exe",
        "elf",
        "mach-o",
        "shell-script",
        "zip",
        "tar",
        "gzip",
        "rar",
        "7z",
        "random",
        "text",
        "pdf-not-at-start",
        "xls-ole2",
        "mp4",
        "avif",
        "truncated-docx",
    ],
)
def test_refused(data: bytes, refusal: Refusal) -> None:
    result = detect(data)

    assert result.refusal is refusal
    assert not result.accepted
    assert result.kind is None
    assert result.mime_type is None and result.extension is None


def test_renamed_executable_is_refused_whatever_it_claims() -> None:
    # A program saved as "giay_chung_nhan.pdf": only the bytes count.
    assert detect(make_pe() + make_pdf()).refusal is Refusal.EXECUTABLE


def test_zip_with_content_types_but_no_office_part_is_an_archive() -> None:
    data = office_zip({"[Content_Types].xml": CONTENT_TYPES, "payload.bin": "x"})
    assert detect(data).refusal is Refusal.ARCHIVE


def test_macro_enabled_word_file_is_refused() -> None:
    result = detect(make_docx(macros=True))
    assert (result.kind, result.refusal) == (FileKind.DOCX, Refusal.MACROS)


def test_per_kind_size_limit() -> None:
    pdf = make_pdf()

    too_big = detect(pdf, max_sizes={FileKind.PDF: len(pdf) - 1})
    assert (too_big.kind, too_big.refusal) == (FileKind.PDF, Refusal.TOO_LARGE)
    assert detect(pdf, max_sizes={FileKind.PDF: len(pdf)}).accepted
    assert detect(pdf, max_sizes={FileKind.PNG: 1}).accepted


# -- limits and hostile structures ---------------------------------------------------------


def test_heif_without_an_image_box_is_refused() -> None:
    assert detect(make_ftyp(b"mif1", b"mif1", meta=False)).refusal is Refusal.UNKNOWN


def test_ftyp_box_larger_than_the_file_is_refused() -> None:
    data = bytearray(make_ftyp(b"heic", b"mif1", b"heic"))
    data[:4] = struct.pack(">I", len(data) + 1)
    assert detect(bytes(data)).refusal is Refusal.UNKNOWN


def content_types_with(body: str, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr("[Content_Types].xml", body)
        archive.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    return buffer.getvalue()


def test_content_types_with_a_dtd_are_refused() -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE Types [<!ENTITY a "macroEnabled">]>'
        '<Types><Default Extension="xml" ContentType="&a;"/></Types>'
    )
    assert detect(content_types_with(laughs)).refusal is Refusal.UNKNOWN


def test_content_types_not_deflated_are_refused() -> None:
    data = content_types_with(CONTENT_TYPES, zipfile.ZIP_BZIP2)
    assert detect(data).refusal is Refusal.UNKNOWN


def test_huge_content_types_are_not_decompressed() -> None:
    bomb = content_types_with(CONTENT_TYPES[:-8] + " " * 20_000_000 + "</Types>")

    started = time.process_time()
    tracemalloc.start()
    try:
        result = detect(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert result.refusal is Refusal.UNKNOWN
    assert time.process_time() - started < 1.0
    assert peak < 16 * 1024 * 1024


def test_part_names_equal_but_for_case_are_refused() -> None:
    data = office_zip(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "word/document.xml": '<?xml version="1.0"?><w:document/>',
            "WORD/DOCUMENT.XML": '<?xml version="1.0"?><w:document/>',
        }
    )
    assert detect(data).refusal is Refusal.UNKNOWN


def test_ole2_declaring_more_fat_than_the_file_holds_is_refused() -> None:
    data = bytearray(make_ole2("WordDocument"))
    data[44:48] = struct.pack("<I", 10_000_000)
    assert detect(bytes(data)).refusal is Refusal.UNKNOWN


def test_short_ole2_is_refused_without_touching_the_file_system() -> None:
    # olefile takes short bytes for a file name: they must never reach it as bytes.
    assert detect(make_ole2("WordDocument")[:600]).refusal is Refusal.UNKNOWN

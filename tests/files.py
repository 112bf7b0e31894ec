"""Real files built in the tests: a PDF, a JPEG, a PNG, Office documents (DOCX, XLSX and the
OLE2 files .doc and .xls are), an executable, a ZIP; and hostile ones that try to make the file
check slow or greedy (a HEIF "bomb", a ZIP of very many entries, a huge OLE2 directory)."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Mapping

__all__ = [
    "EXCEL_MAIN",
    "WORD_MAIN",
    "make_docx",
    "make_exe",
    "make_heif_bomb",
    "make_jpeg",
    "make_ole2",
    "make_ole2_of_many_entries",
    "make_pdf",
    "make_png",
    "make_xlsx",
    "make_zip",
    "make_zip_of_many_entries",
    "office_zip",
]

WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
EXCEL_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def make_pdf(text: str = "Phieu dang ky OCOP") -> bytes:
    """A one-page PDF with a line of text (a valid cross-reference table)."""
    stream = f"BT /F1 18 Tf 50 750 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def make_png(width: int = 4, height: int = 3, shade: int = 200) -> bytes:
    """A grey PNG image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    raw = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def make_jpeg(seed: int = 0) -> bytes:
    """A minimal baseline JPEG (8x8 grey); ``seed`` makes different contents."""

    def segment(marker: int, body: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body

    app0 = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    comment = segment(0xFE, f"ocop test image {seed}".encode())
    table = segment(0xDB, b"\x00" + bytes([1] * 64))
    frame = segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")
    huffman_dc = segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
    huffman_ac = segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
    scan = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x00\x00"
    return (
        b"\xff\xd8" + app0 + comment + table + frame + huffman_dc + huffman_ac + scan + b"\xff\xd9"
    )


def office_zip(parts: Mapping[str, str | bytes]) -> bytes:
    """A ZIP of ``parts`` (name → content), deflated as Office writes them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in parts.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def content_types(overrides: Mapping[str, str], defaults: Mapping[str, str] | None = None) -> str:
    """A ``[Content_Types].xml``: a type per extension (``defaults``) and per part name."""
    if defaults is None:
        defaults = {
            "xml": "application/xml",
            "rels": "application/vnd.openxmlformats-package.relationships+xml",
        }
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types">'
        + "".join(f'<Default Extension="{e}" ContentType="{t}"/>' for e, t in defaults.items())
        + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides.items())
        + "</Types>"
    )


def _package(
    main: str,
    body: str,
    main_type: str,
    extra: Mapping[str, str | bytes] | None,
    overrides: Mapping[str, str] | None,
) -> bytes:
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": content_types({"/" + main: main_type, **(overrides or {})}),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http:'
            "//schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
            f'" Target="{main}"/></Relationships>'
        ),
        main: body,
    }
    parts.update(extra or {})
    return office_zip(parts)


def make_docx(
    text: str = "Cau chuyen san pham",
    *,
    extra: Mapping[str, str | bytes] | None = None,
    overrides: Mapping[str, str] | None = None,
    main_type: str = WORD_MAIN,
) -> bytes:
    """A Word document with one paragraph; ``extra`` parts and content-type ``overrides``
    (part name → type) are added, ``main_type`` is the declared type of the document part."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats'
        f'.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p>'
        "</w:body></w:document>"
    )
    return _package("word/document.xml", body, main_type, extra, overrides)


def make_xlsx(
    *,
    extra: Mapping[str, str | bytes] | None = None,
    overrides: Mapping[str, str] | None = None,
    main_type: str = EXCEL_MAIN,
) -> bytes:
    """An Excel workbook (no sheets of data); ``extra``, ``overrides`` as in :func:`make_docx`."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.'
        'org/spreadsheetml/2006/main"><sheets/></workbook>'
    )
    return _package("xl/workbook.xml", body, main_type, extra, overrides)


def make_exe() -> bytes:
    """The start of a Windows program (an MZ/PE header)."""
    return b"MZ\x90\x00\x03" + b"\x00" * 55 + b"\x80\x00\x00\x00" + b"\x00" * 64 + b"PE\x00\x00"


def make_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ho-so.txt", "ho so")
    return buffer.getvalue()


# -- OLE2 compound files (.doc, .xls) ------------------------------------------------------

_FREE, _END, _FAT_SECTOR, _NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_ROOT, _STORAGE, _STREAM = 5, 1, 2


def _ole2_entry(
    name: str, kind: int, *, child: int, left: int, right: int, start: int, size: int
) -> bytes:
    """One 128-byte directory entry."""
    encoded = name.encode("utf-16-le") + b"\x00\x00" if name else b""
    return (
        encoded.ljust(64, b"\x00")
        + struct.pack("<HBB", len(encoded), kind, 1)
        + struct.pack("<III", left, right, child)
        + b"\x00" * 16  # class id
        + struct.pack("<I", 0)  # state bits
        + b"\x00" * 16  # created, modified
        + struct.pack("<IQ", start, size)
    )


def _ole2_layout(entries: int, data_sectors: int) -> tuple[int, int]:
    """Sectors of the FAT and of the directory of a file laid out FAT, directory, data."""
    dir_sectors = (entries + 1 + 3) // 4  # at least one unused entry at the end
    fat_sectors = 1
    while fat_sectors * 128 < fat_sectors + dir_sectors + data_sectors:
        fat_sectors += 1
    assert fat_sectors <= 109, "a DIFAT is not built here"
    return fat_sectors, dir_sectors


def _ole2_file(directory: list[bytes], data: bytes = b"") -> bytes:
    """A version-3 compound file: the FAT, the ``directory`` entries, then ``data`` (whole
    sectors; the stream whose entry starts at the first sector after the directory)."""
    fat_sectors, dir_sectors = _ole2_layout(len(directory), len(data) // 512)
    unused = _ole2_entry(
        "", 0, child=_NO_STREAM, left=_NO_STREAM, right=_NO_STREAM, start=0, size=0
    )
    entries = [*directory, *[unused] * (dir_sectors * 4 - len(directory))]
    chain = [_FAT_SECTOR] * fat_sectors
    for first, count in (
        (fat_sectors, dir_sectors),
        (fat_sectors + dir_sectors, len(data) // 512),
    ):
        chain += [*range(first + 1, first + count), _END][:count]
    chain += [_FREE] * (-len(chain) % 128)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, fat_sectors, fat_sectors, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<109I", *range(fat_sectors), *[_FREE] * (109 - fat_sectors))
    )
    assert len(header) == 512 and len(data) % 512 == 0
    return header + struct.pack(f"<{len(chain)}I", *chain) + b"".join(entries) + data


def make_ole2(*streams: str) -> bytes:
    """A compound file (what .doc and .xls files are) with ``streams`` given as paths:
    ``make_ole2("WordDocument", "Macros/VBA/dir")`` has a storage ``Macros`` holding a storage
    ``VBA`` holding a stream ``dir``. The first stream holds 4 KiB, the others nothing."""
    kids: dict[str, list[str]] = {"": []}
    for path in streams:
        names = path.split("/")
        for depth in range(1, len(names) + 1):
            node, parent = "/".join(names[:depth]), "/".join(names[: depth - 1])
            if node not in kids:
                kids[node] = []
                kids[parent].append(node)
    sid = {node: number for number, node in enumerate(kids)}
    fat_sectors, dir_sectors = _ole2_layout(len(kids), 8)
    directory = []
    for node, children in kids.items():
        siblings = kids[node.rpartition("/")[0]] if node else [node]
        after = siblings[siblings.index(node) + 1 :]
        first = node == streams[0]
        directory.append(
            _ole2_entry(
                node.rpartition("/")[2] or "Root Entry",
                _ROOT if not node else _STREAM if node in streams else _STORAGE,
                child=sid[children[0]] if children else _NO_STREAM,
                left=_NO_STREAM,
                right=sid[after[0]] if after else _NO_STREAM,
                start=fat_sectors + dir_sectors if first else _END,
                size=4096 if first else 0,
            )
        )
    return _ole2_file(directory, b"\x00" * 4096)


def make_ole2_of_many_entries(count: int = 50_000) -> bytes:
    """A compound file whose root storage has ``count`` streams in a balanced tree (about
    6 MB): reading every directory entry costs time and memory for nothing."""
    directory = [b""] * (count + 1)

    def subtree(low: int, high: int) -> int:
        if low >= high:
            return _NO_STREAM
        middle = (low + high) // 2
        directory[middle] = _ole2_entry(
            f"s{middle}",
            _STREAM,
            child=_NO_STREAM,
            left=subtree(low, middle),
            right=subtree(middle + 1, high),
            start=_END,
            size=0,
        )
        return middle

    root_child = subtree(1, count + 1)
    directory[0] = _ole2_entry(
        "Root Entry",
        _ROOT,
        child=root_child,
        left=_NO_STREAM,
        right=_NO_STREAM,
        start=_END,
        size=0,
    )
    return _ole2_file(directory)


# -- hostile files -------------------------------------------------------------------------


def make_heif_bomb(size: int = 20 * 1024 * 1024) -> bytes:
    """``size`` bytes that start as a HEIF photo (``ftyp`` of brand ``mif1``) whose ``ftyp``
    box claims 0xFFFFFFFF bytes: a reader taking every 4 bytes after it for a brand makes
    millions of them (the rest is random)."""
    head = struct.pack(">I", 0xFFFFFFFF) + b"ftypmif1\x00\x00\x00\x00mif1heic"
    return head + random.Random(size).randbytes(size - len(head))


def make_zip_of_many_entries(count: int = 150_000, *, declared: int | None = None) -> bytes:
    """A ZIP (ZIP64 end records) of ``count`` empty files; ``declared`` is the number of
    entries its end records claim (the real count unless given)."""
    claimed = count if declared is None else declared
    local, central, offset = [], [], 0
    for number in range(count):
        name = b"%d.txt" % number
        header = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0)
        central.append(
            struct.pack(
                "<4s6H3I5H2I",
                b"PK\x01\x02",
                20,
                20,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )
        local.append(header + name)
        offset += len(header) + len(name)
    directory = b"".join(central)
    end64_at = offset + len(directory)
    end64 = struct.pack(
        "<4sQ2H2I4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, claimed, claimed, len(directory), offset
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, end64_at, 1)
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return b"".join(local) + directory + end64 + locator + end

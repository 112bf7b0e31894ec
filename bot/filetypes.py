"""What an uploaded file really is, told by its bytes — never by its name or declared MIME type.

Dossier evidence may be a PDF, a photo (JPEG, PNG, WebP, HEIC/HEIF) or an office document (DOC,
DOCX, XLSX). Everything else is refused with a reason code the caller can explain to the user:
``empty``, ``executable`` (Windows/Linux/macOS programs, scripts with ``#!``), ``archive`` (zip,
rar, 7z, gzip, tar…), ``macros`` (macro-enabled Office files), ``too_large`` (over a per-kind
limit the caller passes) and ``unknown`` (anything not recognised, or beyond the limits below).
``unreadable`` is for a caller whose check did not finish in time; :func:`detect` never says it.

Macros: Office part names and content types are compared case-insensitively; a DOCX/XLSX is
refused when a part, a declared content type (``[Content_Types].xml``) or a relationship
(``*.rels``) is of VBA, ActiveX or Excel 4.0 macro sheets, or its main part is macro-enabled.
An OLE2 file (read with ``olefile``) is refused when it has a ``Macros``, ``_VBA_PROJECT_CUR``
or ``VBA`` storage.

Bounded: a check reads at most a fixed number of ISO boxes, ZIP entries, directory entries and
decompressed bytes, never allocates by a size the file declares, and calls a file beyond those
limits ``unknown``; its cost grows at most linearly with the file's size. Zip bombs are never
decompressed: only small XML parts of Office packages are read, and only so far.

Limitations: this checks signatures and container tables of contents; it does not parse whole
files, so a damaged PDF with a valid header is accepted, and embedded OLE objects of an Office
file are not opened.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from xml.parsers import expat

import olefile

__all__ = ["Detection", "FileKind", "Refusal", "detect"]


class FileKind(StrEnum):
    """A file type accepted as dossier evidence."""

    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    HEIC = "heic"
    HEIF = "heif"
    DOC = "doc"
    DOCX = "docx"
    XLSX = "xlsx"


class Refusal(StrEnum):
    """Why a file is refused."""

    EMPTY = "empty"
    EXECUTABLE = "executable"
    ARCHIVE = "archive"
    MACROS = "macros"
    TOO_LARGE = "too_large"
    UNKNOWN = "unknown"
    UNREADABLE = "unreadable"


# Canonical MIME type and file extension of each kind.
_FORMATS: Mapping[FileKind, tuple[str, str]] = {
    FileKind.PDF: ("application/pdf", "pdf"),
    FileKind.JPEG: ("image/jpeg", "jpg"),
    FileKind.PNG: ("image/png", "png"),
    FileKind.WEBP: ("image/webp", "webp"),
    FileKind.HEIC: ("image/heic", "heic"),
    FileKind.HEIF: ("image/heif", "heif"),
    FileKind.DOC: ("application/msword", "doc"),
    FileKind.DOCX: (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    FileKind.XLSX: ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}


@dataclass(frozen=True, slots=True)
class Detection:
    """The verdict on one file: its kind when recognised, and a refusal unless accepted."""

    kind: FileKind | None
    refusal: Refusal | None = None

    @property
    def accepted(self) -> bool:
        return self.refusal is None

    @property
    def mime_type(self) -> str | None:
        return None if self.kind is None else _FORMATS[self.kind][0]

    @property
    def extension(self) -> str | None:
        """The canonical extension, without a dot (``"jpg"``); use it instead of the user's."""
        return None if self.kind is None else _FORMATS[self.kind][1]


def detect(data: bytes, max_sizes: Mapping[FileKind, int] | None = None) -> Detection:
    """Tell what ``data`` is; ``max_sizes`` optionally caps the size in bytes per kind."""
    if not data:
        return Detection(None, Refusal.EMPTY)
    if _is_executable(data):
        return Detection(None, Refusal.EXECUTABLE)
    found = _sniff(data)
    if found.kind is not None and len(data) > (max_sizes or {}).get(found.kind, len(data)):
        return Detection(found.kind, Refusal.TOO_LARGE)
    return found


# -- refused outright ----------------------------------------------------------------------

_EXECUTABLE_MAGIC = (
    b"MZ",  # Windows PE / DOS
    b"\x7fELF",  # Linux, Android native
    b"\xfe\xed\xfa\xce",  # Mach-O 32-bit
    b"\xfe\xed\xfa\xcf",  # Mach-O 64-bit
    b"\xce\xfa\xed\xfe",  # Mach-O 32-bit, little-endian
    b"\xcf\xfa\xed\xfe",  # Mach-O 64-bit, little-endian
    b"\xca\xfe\xba\xbe",  # Mach-O universal binary, Java class
    b"#!",  # script with an interpreter line
    b"dex\n",  # Android Dalvik
    b"\x00asm",  # WebAssembly
)

_ARCHIVE_MAGIC = (
    b"Rar!\x1a\x07",
    b"7z\xbc\xaf\x27\x1c",
    b"\x1f\x8b",  # gzip
    b"BZh",  # bzip2
    b"\xfd7zXZ\x00",  # xz
    b"\x28\xb5\x2f\xfd",  # zstandard
    b"MSCF",  # Windows cabinet
    b"PK\x07\x08",  # spanned zip
)


def _is_executable(data: bytes) -> bool:
    return data.startswith(_EXECUTABLE_MAGIC)


def _is_archive(data: bytes) -> bool:
    return data.startswith(_ARCHIVE_MAGIC) or data[257:262] == b"ustar"  # tar


# -- limits --------------------------------------------------------------------------------
# Real files are far below them; a file beyond any of them is "unknown".

_MAX_FTYP_BYTES = 4096  # the leading ftyp box: a handful of 4-byte brands
_MAX_ISO_BOXES = 64  # top-level boxes looked at (a HEIF photo has 3 to 5)
_MAX_ZIP_ENTRIES = 10_000  # parts of one DOCX/XLSX (a real one has tens, rarely thousands)
_MAX_ZIP_DIRECTORY = 2 * 1024 * 1024  # bytes of a ZIP central directory
_MAX_XML_PART = 2 * 1024 * 1024  # decompressed bytes read from one package part
_MAX_XML_TOTAL = 8 * 1024 * 1024  # decompressed bytes read from all parts of one package
_MAX_OLE_ENTRIES = 4096  # directory entries of an OLE2 file (a .doc has tens)


class _BeyondLimits(Exception):
    """A file is larger or more complex than any real document (or not well-formed)."""


# -- recognised kinds ----------------------------------------------------------------------

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"heif"})


def _sniff(data: bytes) -> Detection:
    if data.startswith(b"%PDF-"):
        return Detection(FileKind.PDF)
    if data.startswith(b"\xff\xd8\xff"):
        return Detection(FileKind.JPEG)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return Detection(FileKind.PNG)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Detection(FileKind.WEBP)
    if data[4:8] == b"ftyp":
        return _iso_media(data)
    if data.startswith(_OLE2_MAGIC):
        return _ole2(data)
    if data.startswith(_ZIP_MAGIC):
        return _zip(data)
    if _is_archive(data):
        return Detection(None, Refusal.ARCHIVE)
    return Detection(None, Refusal.UNKNOWN)


# -- HEIC/HEIF -----------------------------------------------------------------------------


def _iso_media(data: bytes) -> Detection:
    """HEIC/HEIF photos among ISO media files (MP4, MOV, AVIF… are refused).

    The ``ftyp`` box must fit the file and the limit, and an image's ``meta`` box (or an image
    sequence's ``moov``) must follow among the first top-level boxes.
    """
    (ftyp_size,) = struct.unpack(">I", data[:4])
    if not 16 <= ftyp_size <= min(len(data), _MAX_FTYP_BYTES):
        return Detection(None, Refusal.UNKNOWN)
    major = data[8:12]
    compatible = {data[i : i + 4] for i in range(16, ftyp_size - 3, 4)}
    if not _has_top_level_box(data, (b"meta", b"moov")):
        return Detection(None, Refusal.UNKNOWN)
    if major in _HEIC_BRANDS:
        return Detection(FileKind.HEIC)
    if major in _HEIF_BRANDS and not compatible & {b"avif", b"avis"}:
        return Detection(FileKind.HEIC if compatible & _HEIC_BRANDS else FileKind.HEIF)
    return Detection(None, Refusal.UNKNOWN)


def _has_top_level_box(data: bytes, types: tuple[bytes, ...]) -> bool:
    """Whether one of the first top-level boxes is of one of ``types`` (sizes only skipped)."""
    offset = 0
    for _ in range(_MAX_ISO_BOXES):
        if len(data) - offset < 8:
            return False
        size, box_type = struct.unpack_from(">I4s", data, offset)
        if box_type in types:
            return True
        if size == 1:  # a 64-bit size follows the type
            if len(data) - offset < 16:
                return False
            (size,) = struct.unpack_from(">Q", data, offset + 8)
        if size < 8:  # 0 is "to the end of the file": nothing follows it
            return False
        offset += size
    return False


# -- OLE2 (.doc, .xls) ---------------------------------------------------------------------

_OLE2_MACRO_STORAGES = frozenset({"macros", "_vba_project_cur", "vba"})


def _ole2(data: bytes) -> Detection:
    """A Word 97–2003 document among OLE2 compound files; other OLE2 files are refused.

    Macros (a ``Macros``, ``_VBA_PROJECT_CUR`` or ``VBA`` storage anywhere) refuse a Word or
    Excel file as ``macros``; an Excel file without them is still not accepted (``unknown``).
    """
    try:
        paths = _ole2_paths(data)
    except Exception:  # olefile on hostile bytes may fail in many ways: not a readable file
        return Detection(None, Refusal.UNKNOWN)
    top = {path[0] for path in paths if len(path) == 1}
    macros = any(name in _OLE2_MACRO_STORAGES for path in paths for name in path)
    if "worddocument" in top:
        return Detection(FileKind.DOC, Refusal.MACROS if macros else None)
    if top & {"workbook", "book"} and macros:
        return Detection(None, Refusal.MACROS)
    return Detection(None, Refusal.UNKNOWN)


def _ole2_paths(data: bytes) -> list[tuple[str, ...]]:
    """Every stream and storage of a compound file, as lower-case paths."""
    _check_ole2_header(data)
    ole = _BoundedOleFile(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)
    try:
        listed = ole.listdir(streams=True, storages=True)
        return [tuple(str(name).lower() for name in path) for path in listed]
    finally:
        ole.close()


def _check_ole2_header(data: bytes) -> None:
    """Refuses a header declaring more FAT sectors than the file could need (olefile would
    read them all, again and again)."""
    if len(data) < 512:
        raise _BeyondLimits("short OLE2 header")
    (shift,) = struct.unpack_from("<H", data, 30)
    if shift not in (9, 12):
        raise _BeyondLimits("bad OLE2 sector size")
    sector = 1 << shift
    sectors = (len(data) + sector - 1) // sector - 1
    (fat_sectors,) = struct.unpack_from("<I", data, 44)
    if fat_sectors > sectors // (sector // 4) + 2:
        raise _BeyondLimits("OLE2 FAT larger than the file")


class _BoundedOleFile(olefile.OleFileIO):
    """olefile's reader, giving up past a number of directory entries."""

    _entries_loaded = 0

    def _load_direntry(self, sid: int) -> Any:
        self._entries_loaded += 1
        if self._entries_loaded > _MAX_OLE_ENTRIES:
            raise _BeyondLimits("too many OLE2 directory entries")
        return super()._load_direntry(sid)


# -- DOCX/XLSX -----------------------------------------------------------------------------

_MAIN_CONTENT_TYPES: Mapping[str, FileKind] = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": (
        FileKind.DOCX
    ),
    "application/vnd.ms-word.document.macroenabled.main+xml": FileKind.DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": FileKind.XLSX,
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": FileKind.XLSX,
}
_MAIN_PARTS: Mapping[str, FileKind] = {
    "word/document.xml": FileKind.DOCX,
    "xl/workbook.xml": FileKind.XLSX,
}
# Lower-case fragments of content types and relationship types of code: macro-enabled main
# parts, VBA projects (and Word's vbaData), ActiveX controls, Excel 4.0 (XLM) macro sheets.
_MACRO_TYPE_MARKERS = ("macroenabled", "vbaproject", "vbadata", "activex", "macrosheet")
_ACTIVEX_CONTROL_RELATIONSHIP = "/relationships/control"
_MACRO_PART_NAMES = frozenset(
    {"vbaproject.bin", "vbaprojectsignature.bin", "vbaprojectsignatureagile.bin", "vbadata.xml"}
)
_MACRO_FOLDERS = frozenset({"activex", "macrosheets"})
_CONTENT_TYPES_PART = "[content_types].xml"
# Any other ZIP problem Python's zipfile or zlib may raise on hostile bytes.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
    ValueError,
    EOFError,
    NotImplementedError,
    RuntimeError,  # an encrypted part; RecursionError
    OSError,
    expat.ExpatError,
    _BeyondLimits,
)


def _zip(data: bytes) -> Detection:
    """DOCX or XLSX by their parts and content types; any other ZIP is an archive."""
    try:
        return _office_package(data)
    except _ZIP_ERRORS:
        # A damaged, hostile or absurd ZIP: not something we can read, so not accepted.
        return Detection(None, Refusal.UNKNOWN)


def _office_package(data: bytes) -> Detection:
    _check_zip_directory(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        parts = {info.filename.lower(): info for info in infos}
        if len(infos) > _MAX_ZIP_ENTRIES or len(parts) < len(infos):
            # Office part names are case-insensitive: two names equal but for case are invalid.
            raise _BeyondLimits("too many or ambiguous ZIP entries")
        if _CONTENT_TYPES_PART not in parts:
            return Detection(None, Refusal.ARCHIVE)
        budget = _ReadBudget(archive)
        declared = budget.attributes(parts[_CONTENT_TYPES_PART])
        content_types = [a["ContentType"].lower() for a in declared if "ContentType" in a]
        kind = _main_kind(declared, parts)
        if kind is None:
            return Detection(None, Refusal.ARCHIVE)
        if _has_macro_part(parts) or any(_is_macro_type(t) for t in content_types):
            return Detection(kind, Refusal.MACROS)
        for name, info in parts.items():
            if name.endswith(".rels"):
                relations = budget.attributes(info)
                if any(_is_macro_type(a.get("Type", "").lower()) for a in relations):
                    return Detection(kind, Refusal.MACROS)
        return Detection(kind)


# zipfile's own reader of the end record: what it says is what zipfile.ZipFile will then read.
_zip_end_record: Callable[[io.BytesIO], list[Any] | None] = zipfile._EndRecData  # type: ignore[attr-defined]


def _check_zip_directory(data: bytes) -> None:
    """Refuses, before Python's zipfile reads it, a central directory with absurdly many
    entries or bytes; the same end record zipfile uses is read (with its ZIP64 variant)."""
    record = _zip_end_record(io.BytesIO(data))
    if record is None:
        raise _BeyondLimits("no ZIP end record")
    entries, directory_bytes = record[4], record[5]  # total entries, central directory size
    if entries > _MAX_ZIP_ENTRIES or directory_bytes > _MAX_ZIP_DIRECTORY:
        raise _BeyondLimits("ZIP central directory too large")


def _main_kind(
    declared: list[dict[str, str]], parts: Mapping[str, zipfile.ZipInfo]
) -> FileKind | None:
    """DOCX or XLSX by the content type of a present part, else by the usual part names."""
    for attributes in declared:
        part = attributes.get("PartName", "").lower().lstrip("/")
        kind = _MAIN_CONTENT_TYPES.get(attributes.get("ContentType", "").lower())
        if kind is not None and part in parts:
            return kind
    for name, kind in _MAIN_PARTS.items():
        if name in parts:
            return kind
    return None


def _is_macro_type(declared_type: str) -> bool:
    """Whether a lower-case content type or relationship type is one of code."""
    return any(marker in declared_type for marker in _MACRO_TYPE_MARKERS) or (
        declared_type.endswith(_ACTIVEX_CONTROL_RELATIONSHIP)
    )


def _has_macro_part(parts: Mapping[str, zipfile.ZipInfo]) -> bool:
    for name in parts:
        *folders, base = name.split("/")
        if base in _MACRO_PART_NAMES or _MACRO_FOLDERS.intersection(folders):
            return True
    return False


class _ReadBudget:
    """Reads small XML parts of one package, within a total of decompressed bytes."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.left = _MAX_XML_TOTAL

    def attributes(self, info: zipfile.ZipInfo) -> list[dict[str, str]]:
        """The attributes of every element of a part (XML without a DTD)."""
        return _xml_attributes(self.read(info))

    def read(self, info: zipfile.ZipInfo) -> bytes:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # Office writes only these; bzip2/LZMA cannot be read in bounded steps.
            raise _BeyondLimits("unexpected compression")
        limit = min(_MAX_XML_PART, self.left)
        with self.archive.open(info) as part:
            body = part.read(limit + 1)  # decompresses incrementally: at most limit + 1 bytes
        if len(body) > limit:
            raise _BeyondLimits("package part too large")
        self.left -= len(body)
        return body


def _xml_attributes(body: bytes) -> list[dict[str, str]]:
    """Attributes of every element; a DTD (and so any entity expansion) is refused."""
    found: list[dict[str, str]] = []

    def start(_name: str, attributes: dict[str, str]) -> None:
        found.append(attributes)

    def doctype(*_args: object) -> None:
        raise _BeyondLimits("a DTD in a package part")

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    parser.Parse(body, True)
    return found

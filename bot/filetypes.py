"""What an uploaded file really is, told by its bytes — never by its name or declared MIME type.

Dossier evidence may be a PDF, a photo (JPEG, PNG, WebP, HEIC/HEIF) or an office document (DOC,
DOCX, XLSX). Everything else is refused with a reason code the caller can explain to the user:
``empty``, ``executable`` (Windows/Linux/macOS programs, scripts with ``#!``), ``archive`` (zip,
rar, 7z, gzip, tar…), ``macros`` (macro-enabled Office files), ``too_large`` (over a per-kind
limit the caller passes) and ``unknown`` (anything not recognised).

Limitations: this checks signatures and, for ZIP and OLE2 containers, their table of contents;
it does not parse whole files, so a damaged PDF with a valid header is accepted. It reads only
ZIP central directories, so zip bombs are never decompressed.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

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


def _iso_media(data: bytes) -> Detection:
    """HEIC/HEIF photos among ISO media files (MP4, MOV, AVIF… are refused)."""
    (box_size,) = struct.unpack(">I", data[:4])
    major = data[8:12]
    compatible = {data[i : i + 4] for i in range(16, min(box_size, len(data)), 4)}
    if major in _HEIC_BRANDS:
        return Detection(FileKind.HEIC)
    if major in _HEIF_BRANDS and not compatible & {b"avif", b"avis"}:
        return Detection(FileKind.HEIC if compatible & _HEIC_BRANDS else FileKind.HEIF)
    return Detection(None, Refusal.UNKNOWN)


def _ole2(data: bytes) -> Detection:
    """A Word 97–2003 document among OLE2 compound files (XLS, MSI installers… are refused)."""
    if not _ole2_has_entry(data, "WordDocument"):
        return Detection(None, Refusal.UNKNOWN)
    return Detection(FileKind.DOC, Refusal.MACROS if _ole2_has_entry(data, "Macros") else None)


def _ole2_has_entry(data: bytes, name: str) -> bool:
    """Whether a compound file has a stream or storage called ``name``.

    Looks for the name among the 128-byte directory entries rather than following the sector
    chains: an entry starts on a 128-byte boundary with its UTF-16 name, whose byte length
    (with the terminator) is stored at offset 64.
    """
    encoded = name.encode("utf-16-le") + b"\x00\x00"
    start = data.find(encoded)
    while start != -1:
        if start % 128 == 0 and data[start + 64 : start + 66] == struct.pack("<H", len(encoded)):
            return True
        start = data.find(encoded, start + 1)
    return False


def _zip(data: bytes) -> Detection:
    """DOCX or XLSX by their parts; any other ZIP is an archive."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, OSError):
        # A damaged or hostile ZIP: not something we can read, so not accepted.
        return Detection(None, Refusal.UNKNOWN)
    if "[Content_Types].xml" in names:
        for kind, main_part, macro_part in (
            (FileKind.DOCX, "word/document.xml", "word/vbaProject.bin"),
            (FileKind.XLSX, "xl/workbook.xml", "xl/vbaProject.bin"),
        ):
            if main_part in names:
                return Detection(kind, Refusal.MACROS if macro_part in names else None)
    return Detection(None, Refusal.ARCHIVE)

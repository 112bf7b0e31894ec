"""Regression: macro-enabled Office files passed the file check.

Part names were compared case-sensitively (``word/VBAPROJECT.BIN`` passed), the content types a
package declares were ignored (a VBA project under another name, a macro-enabled main part, an
Excel 4.0 macro sheet, an ActiveX control), and a .doc with a ``MACROS`` storage passed. Office
compares part names case-insensitively and trusts declared types, so the check does too.
"""

from __future__ import annotations

import pytest

from bot.filetypes import Detection, FileKind, Refusal, detect
from tests.files import make_docx, make_ole2, make_xlsx
from tests.handlers.test_documents import CHAT, handicraft_dossier, open_document
from tests.handlers.test_documents import files as stored_files
from tests.harness import RunningBot

VBA = "application/vnd.ms-office.vbaProject"
RELATIONSHIPS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.'
    'org/package/2006/relationships"><Relationship Id="rId9" Type="{type}" Target="{target}"/>'
    "</Relationships>"
)


@pytest.mark.parametrize(
    "data",
    [
        make_docx(extra={"word/VBAPROJECT.BIN": b"VBA"}),
        make_docx(extra={"Word/VbaProject.bin": b"VBA"}),
        make_xlsx(extra={"XL/vbaProject.BIN": b"VBA"}),
        make_docx(extra={"word/code.bin": b"VBA"}, overrides={"/word/code.bin": VBA}),
        make_docx(extra={"word/code.bin": b"VBA"}, overrides={"/WORD/CODE.BIN": VBA.upper()}),
        make_docx(main_type="application/vnd.ms-word.document.macroEnabled.main+xml"),
        make_docx(main_type="application/vnd.ms-word.document.macro&#69;nabled.main+xml"),
        make_xlsx(main_type="application/vnd.ms-excel.sheet.macroEnabled.main+xml"),
        make_xlsx(
            extra={"xl/sheets/m1.xml": "<macrosheet/>"},
            overrides={"/xl/sheets/m1.xml": "application/vnd.ms-excel.macrosheet+xml"},
        ),
        make_xlsx(
            extra={"xl/sheets/m1.xml": "<macrosheet/>"},
            overrides={"/xl/sheets/m1.xml": "application/vnd.ms-excel.intlmacrosheet+xml"},
        ),
        make_xlsx(extra={"xl/MacroSheets/sheet1.xml": "<macrosheet/>"}),
        make_docx(
            extra={"word/ctl/c1.bin": b"ocx"},
            overrides={"/word/ctl/c1.bin": "application/vnd.ms-office.activeX"},
        ),
        make_docx(
            extra={
                "word/_rels/document.xml.rels": RELATIONSHIPS.format(
                    type="http://schemas.microsoft.com/office/2006/relationships/vbaProject",
                    target="code.xml",
                ),
                "word/code.xml": "<code/>",
            }
        ),
    ],
    ids=[
        "docx-upper-case-vba-part",
        "docx-mixed-case-folder",
        "xlsx-upper-case-extension",
        "docx-vba-part-renamed-but-declared",
        "docx-declared-in-capitals",
        "docm-main-part",
        "docm-main-part-with-a-character-reference",
        "xlsm-main-part",
        "xlsx-excel4-macro-sheet",
        "xlsx-excel4-international-macro-sheet",
        "xlsx-macro-sheets-folder",
        "docx-activex-control",
        "docx-vba-relationship",
    ],
)
def test_macros_in_an_office_package_are_found(data: bytes) -> None:
    assert detect(data).refusal is Refusal.MACROS


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (make_ole2("WordDocument", "MACROS/VBA/dir"), Detection(FileKind.DOC, Refusal.MACROS)),
        (make_ole2("WordDocument", "macros/vba/dir"), Detection(FileKind.DOC, Refusal.MACROS)),
        (make_ole2("worddocument", "Macros/VBA/dir"), Detection(FileKind.DOC, Refusal.MACROS)),
        (make_ole2("Workbook", "_VBA_PROJECT_CUR/VBA/dir"), Detection(None, Refusal.MACROS)),
        (
            make_ole2("WordDocument", "ObjectPool/_1/VBA/dir"),
            Detection(FileKind.DOC, Refusal.MACROS),
        ),
        (make_ole2("WordDocument", "1Table"), Detection(FileKind.DOC)),
        (make_ole2("Workbook"), Detection(None, Refusal.UNKNOWN)),
        (make_ole2("SummaryInformation", "Macros/VBA/dir"), Detection(None, Refusal.UNKNOWN)),
    ],
    ids=[
        "doc-upper-case-macros",
        "doc-lower-case-macros",
        "doc-lower-case-document",
        "xls-vba-project",
        "doc-embedded-vba",
        "doc-without-macros",
        "xls-without-macros",
        "neither-word-nor-excel",
    ],
)
def test_macros_in_an_old_office_file_are_found(data: bytes, expected: Detection) -> None:
    assert detect(data) == expected


def test_office_files_without_macros_still_pass() -> None:
    assert detect(make_docx()) == Detection(FileKind.DOCX)
    assert detect(make_xlsx()) == Detection(FileKind.XLSX)
    assert detect(make_docx(extra={"word/media/activex.png": b"png"})) == Detection(FileKind.DOCX)


async def test_producer_is_told_the_file_has_macros_and_nothing_is_stored(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    await open_document(phone, "Product story")

    replies = await phone.send_document(
        make_docx(extra={"word/VBAPROJECT.BIN": b"VBA"}), "cau-chuyen.docx", "application/msword"
    )

    assert "contains macros" in replies[0].plain
    assert await stored_files(bot) == []

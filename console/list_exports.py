"""The lists of producers and products as files: CSV (UTF-8 with a BOM, so Excel reads the
Vietnamese right) and XLSX (openpyxl's write-only mode), with the same filters and scope as the
page, every row (not one page), newest first, and the dossier states.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula: such text
is written with a leading ``'`` (:func:`guarded`), so a producer named ``=HYPERLINK(…)`` stays
text. Files are sent as attachments with the official's language in the column names.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from aiohttp import web
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from bot.i18n import N_, Translator, translator
from bot.rules import RuleSet, rules
from console.config import CONFIG
from console.list_filters import (
    PRODUCT_STATES,
    STATE_LABELS,
    group_label,
    producer_filter,
    product_filter,
    set_label,
)
from console.security import HEADERS, signed_in
from storage.clock import local_date
from storage.officials import scope_of
from storage.search import ProducerRow, ProductRow, iterate_producers, iterate_products

__all__ = [
    "FORMULA_STARTS",
    "guarded",
    "national_phone",
    "producers_csv",
    "producers_xlsx",
    "products_csv",
    "products_xlsx",
]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CHUNK = 64 * 1024
_BATCH = 500

PRODUCER_COLUMNS = (
    N_("ID"), N_("Name"), N_("Organisation type"), N_("Tax code"), N_("Phone"),
    N_("Province"), N_("Commune"), N_("Registered at"), N_("Products"), N_("Dossier states"),
    N_("Link"),
)  # fmt: skip
PRODUCT_COLUMNS = (
    N_("ID"), N_("Product"), N_("Product set"), N_("Group"), N_("Producer ID"),
    N_("Producer"), N_("Province"), N_("Commune"), N_("Dossier ID"), N_("Dossier state"),
    N_("Registered at"), N_("Link"),
)  # fmt: skip

Cell = str | int


def guarded(value: str) -> str:
    """Text a spreadsheet will not run: a leading ``'`` before a formula's first character."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def national_phone(phone: str) -> str:
    """A stored Vietnamese number as people write it: ``+84912345678`` → ``0912345678``."""
    return f"0{phone[3:]}" if phone.startswith("+84") else phone


def _states(t: Translator, states: dict[str, int]) -> str:
    return "; ".join(
        f"{t.gettext(STATE_LABELS[s])}: {states[s]}" for s in PRODUCT_STATES if s in states
    )


def _producer_cells(t: Translator, rule_set: RuleSet, origin: str, row: ProducerRow) -> list[Cell]:
    try:
        org_type = rule_set.org_type(row.org_type).name(t.locale)
    except KeyError:
        org_type = row.org_type
    return [
        row.id, row.name, org_type, row.tax_code, national_phone(row.phone), row.province,
        row.commune, t.datetime(row.created_at), row.products, _states(t, row.dossiers),
        f"{origin}/console/producers/{row.id}",
    ]  # fmt: skip


def _product_cells(t: Translator, rule_set: RuleSet, origin: str, row: ProductRow) -> list[Cell]:
    state = t.gettext(STATE_LABELS[row.dossier_state]) if row.dossier_state else ""
    link = f"{origin}/console/dossiers/{row.dossier_id}" if row.dossier_id else ""
    return [
        row.id, row.name, set_label(rule_set, row.product_set, t.locale),
        group_label(rule_set, row.product_set, t.locale), row.producer_id, row.producer,
        row.province, row.commune, row.dossier_id or "", state, t.datetime(row.created_at), link,
    ]  # fmt: skip


def _clean(cell: Cell, *, xlsx: bool) -> Cell:
    if isinstance(cell, int):
        return cell
    text = guarded(cell)
    return ILLEGAL_CHARACTERS_RE.sub("", text) if xlsx else text


def _response(filename: str, content_type: str) -> web.StreamResponse:
    """A streamed attachment, with the console's protective headers set before it starts (the
    middleware's come too late for a response already under way)."""
    return web.StreamResponse(
        headers={
            **HEADERS,
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{filename}"',
        }
    )


async def _send_csv(
    request: web.Request, filename: str, header: Sequence[str], rows: AsyncIterator[list[Cell]]
) -> web.StreamResponse:
    response = _response(filename, f"{CSV_TYPE}; charset=utf-8")
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([_clean(c, xlsx=False) for c in header])
    count = 0
    async for row in rows:
        writer.writerow([_clean(c, xlsx=False) for c in row])
        count += 1
        if count % _BATCH == 0:
            await response.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    await response.write(buffer.getvalue().encode("utf-8"))
    await response.write_eof()
    return response


async def _send_xlsx(
    request: web.Request,
    filename: str,
    title: str,
    header: Sequence[str],
    rows: AsyncIterator[list[Cell]],
) -> web.StreamResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append([_clean(c, xlsx=True) for c in header])

    def append(batch: list[list[Cell]]) -> None:
        for row in batch:
            sheet.append([_clean(c, xlsx=True) for c in row])

    batch: list[list[Cell]] = []
    async for row in rows:  # the sheet is built in a thread, a batch at a time
        batch.append(row)
        if len(batch) >= _BATCH:
            await asyncio.to_thread(append, batch)
            batch = []
    await asyncio.to_thread(append, batch)
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as file:
        await asyncio.to_thread(workbook.save, file)
        file.seek(0)
        response = _response(filename, XLSX_TYPE)
        await response.prepare(request)
        while chunk := file.read(_CHUNK):
            await response.write(chunk)
    await response.write_eof()
    return response


async def _export(request: web.Request, kind: str, extension: str) -> web.StreamResponse:
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    today = local_date(config.clock)
    rule_set = rules(on=today)
    origin = str(request.url.origin())
    filename = f"{kind}-{today.isoformat()}.{extension}"
    columns: Sequence[str]
    async with config.db.sessions() as session:
        scope = await scope_of(session, official)
        if kind == "producers":
            columns, title = PRODUCER_COLUMNS, t.gettext("Producers")
            wanted_producers = producer_filter(request.query, rule_set)
            cells: Callable[[Any], list[Cell]] = lambda row: _producer_cells(  # noqa: E731
                t, rule_set, origin, row
            )
            rows: AsyncIterator[Any] = iterate_producers(session, scope, wanted_producers)
        else:
            columns, title = PRODUCT_COLUMNS, t.gettext("Products")
            wanted_products = product_filter(request.query, rule_set)
            cells = lambda row: _product_cells(t, rule_set, origin, row)  # noqa: E731
            rows = iterate_products(session, scope, wanted_products)

        async def lines() -> AsyncIterator[list[Cell]]:
            async for row in rows:
                yield cells(row)

        header = [t.gettext(c) for c in columns]
        if extension == "csv":
            return await _send_csv(request, filename, header, lines())
        return await _send_xlsx(request, filename, title, header, lines())


async def producers_csv(request: web.Request) -> web.StreamResponse:
    return await _export(request, "producers", "csv")


async def producers_xlsx(request: web.Request) -> web.StreamResponse:
    return await _export(request, "producers", "xlsx")


async def products_csv(request: web.Request) -> web.StreamResponse:
    return await _export(request, "products", "csv")


async def products_xlsx(request: web.Request) -> web.StreamResponse:
    return await _export(request, "products", "xlsx")

"""How fast the console's lists are on a large data set, and which plans the databases choose.

    .venv/bin/python -m bench.console_lists URL [--explain]

On a database filled by :mod:`bench.console_data` (100,000 producers), it times each query a
list page runs (the page, its producers' dossier states, the capped count) for typical
searches and filters, as an administrator and as a commune official, deep in the list too
(keyset), and prints the median and worst of a few runs; ``--explain`` prints each page
query's plan (SQLite ``EXPLAIN QUERY PLAN``, PostgreSQL ``EXPLAIN``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage import search
from storage.db import Database
from storage.models import Area, Producer
from storage.officials import Scope
from storage.search import ProducerFilter, ProductFilter
from storage.states import DossierStatus, OfficialRole

RUNS = 5


async def _timed(action: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        await action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times)


async def _plan(session: AsyncSession, statement: Any) -> str:
    dialect = (await session.connection()).dialect
    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    rows = (await session.execute(text(prefix + sql))).all()
    return "\n".join("    " + " ".join(str(c) for c in row[-1:]) for row in rows)


async def run(url: str, explain: bool) -> None:
    db = Database(url)
    try:
        async with db.sessions() as session:
            admin = Scope(0, OfficialRole.ADMIN, frozenset())
            busiest = (
                await session.execute(
                    select(Area.code, func.count())
                    .join(Producer, Producer.commune_id == Area.id)
                    .group_by(Area.code)
                    .order_by(func.count().desc())
                    .limit(1)
                )
            ).one()
            commune = Scope(0, OfficialRole.COMMUNE, frozenset({busiest[0]}))
            middle = int(await session.scalar(select(func.max(Producer.id))) or 0) // 2
            sample = await session.get(Producer, middle)
            assert sample is not None
            cases: list[tuple[str, Scope, Any, dict[str, Any]]] = [
                ("producers, admin, first page", admin, ProducerFilter(), {}),
                ("producers, admin, page at 50,000", admin, ProducerFilter(),
                 {"older_than": middle}),
                (f"producers, commune ({busiest[1]} producers)", commune, ProducerFilter(), {}),
                ("producers, name 'hop tac xa che luc ngan'", admin,
                 ProducerFilter(text="hop tac xa che luc ngan"), {}),
                ("producers, rare name 'khong co ai'", admin,
                 ProducerFilter(text="khong co ai"), {}),
                ("producers, phone typed 0…", admin,
                 ProducerFilter(text="0" + sample.phone[3:]), {}),
                ("producers, tax code", admin, ProducerFilter(text=sample.tax_code), {}),
                ("producers, state submitted", admin,
                 ProducerFilter(state=DossierStatus.SUBMITTED), {}),
                ("producers, state no product", admin,
                 ProducerFilter(state=search.NO_PRODUCT), {}),
                ("producers, commune + rejected", commune,
                 ProducerFilter(state=DossierStatus.REJECTED), {}),
                ("products, admin, first page", admin, ProductFilter(), {}),
                ("products, set 11", admin, ProductFilter(product_sets=(11,)), {}),
                ("products, name 'che tan cuong'", admin, ProductFilter(text="che tan cuong"),
                 {}),
                ("products, commune + approved", commune,
                 ProductFilter(state=DossierStatus.APPROVED), {}),
            ]  # fmt: skip
            print(f"{'case':<48} {'page ms':>14} {'count ms':>14}")
            for name, scope, wanted, keys in cases:
                page: Callable[[], Awaitable[Any]]
                count: Callable[[], Awaitable[Any]]
                statement: Any = None
                if isinstance(wanted, ProducerFilter):
                    page = partial(search.producer_page, session, scope, wanted, **keys)
                    count = partial(search.count_producers, session, scope, wanted)
                    statement = search._keyset(
                        search._producers_select(scope, wanted), Producer.id,
                        keys.get("older_than"), None, search.PAGE_SIZE,
                    )  # fmt: skip
                else:
                    page = partial(search.product_page, session, scope, wanted, **keys)
                    count = partial(search.count_products, session, scope, wanted)
                page_ms, count_ms = await _timed(page), await _timed(count)
                print(
                    f"{name:<48} {page_ms[0]:>6.1f} ({page_ms[1]:>5.1f}) "
                    f"{count_ms[0]:>6.1f} ({count_ms[1]:>5.1f})"
                )
                if explain and statement is not None:
                    print(await _plan(session, statement))
    finally:
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--explain", action="store_true")
    arguments = parser.parse_args()
    asyncio.run(run(arguments.url, arguments.explain))

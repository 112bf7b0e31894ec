"""The audit log page on both backends: entries newest first with the official's name and the
time in Vietnam, filters (official, producer, action, dates), keyset paging, the official's scope,
and reasons shown as text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.i18n import translator
from storage.audit import audit
from storage.models import Dossier, DossierDocument, Official, Product, User
from storage.states import ActorKind, OfficialRole
from tests.console.conftest import Console

XSS = "<script>alert(1)</script>"
NONE_MATCH = translator("vi").gettext("No entries match.")
_ENTRY = re.compile(r'<li class="card audit-entry" id="audit-(\d+)">')
_OLDER = re.compile(r'<a href="([^"]*)" rel="next">')


def entry_ids(page: str) -> list[int]:
    return [int(found) for found in _ENTRY.findall(page)]


def older_link(page: str) -> str | None:
    found = _OLDER.search(page)
    return found.group(1).replace("&amp;", "&") if found else None


async def page_of(console: Console, path: str, status: int = 200) -> str:
    response = await console.get(path)
    assert response.status == status, (response.status, path)
    return await response.text()


async def write(console: Console, **entry: object) -> int:
    """One audit entry, as the chat or the review functions write it; its id."""
    async with console.db.transaction() as session:
        values = {"actor_kind": ActorKind.SYSTEM, "actor_id": None, "entity": "producer"}
        written = audit(session, **(values | entry))  # type: ignore[arg-type]
        await session.flush()
        return written.id


async def document_of(console: Console, producer_id: int) -> int:
    """A product, its dossier and one document of the producer; the document's id."""
    async with console.db.transaction() as session:
        user = User(display_name="chủ thể")
        session.add(user)
        await session.flush()
        product = Product(
            producer_id=producer_id, product_set=1, name="Mật ong", created_by=user.id
        )
        session.add(product)
        await session.flush()
        dossier = Dossier(product_id=product.id, kind="new", rules_version="2026")
        session.add(dossier)
        await session.flush()
        document = DossierDocument(dossier_id=dossier.id, doc_type="business_registration")
        session.add(document)
        await session.flush()
        return document.id


class World:
    """Two communes of Bắc Ninh and one of Hà Nội, a producer in each, and their officials."""

    def __init__(self, console: Console) -> None:
        self.console = console

    async def build(self) -> World:
        c = self.console
        bac_ninh = await c.area("bac ninh")
        ha_noi = await c.area("ha noi")
        da_mai = await c.area("bac ninh", "Đa Mai")
        xuan_luong = await c.area("bac ninh", "Xuân Lương")
        ba_dinh = await c.area("ha noi", "Ba Đình")
        self.da_mai = await c.producer("HTX Đa Mai", bac_ninh, da_mai)
        self.xuan_luong = await c.producer("HTX Xuân Lương", bac_ninh, xuan_luong)
        self.ba_dinh = await c.producer("HTX Ba Đình", ha_noi, ba_dinh)
        self.admin = await c.official("admin", name="Quản trị viên")
        self.minh = await c.official(
            "xa.damai", OfficialRole.COMMUNE, [da_mai], name="Lê Văn Minh"
        )
        self.hoa = await c.official(
            "tinh.bacninh", OfficialRole.PROVINCE, [bac_ninh], name="Phạm Thị Hoa"
        )
        return self


async def test_entries_newest_first_named_with_times_in_vietnam(console: Console) -> None:
    world = await World(console).build()
    document = await document_of(console, world.da_mai)
    at = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # 2 March, 00:30 in Vietnam
    registered = await write(
        console,
        action="producer.registered",
        entity_id=world.da_mai,
        actor_kind=ActorKind.USER,
        actor_id=7,
        at=at,
    )
    sent_back = await write(
        console,
        action="document.has_issues",
        entity="dossier_document",
        entity_id=document,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=world.minh.id,
        at=at + timedelta(hours=1),
        reason=XSS,
        previous="received",
    )
    await console.sign_in("admin")
    page = await page_of(console, "/console/audit")
    ids = entry_ids(page)
    assert ids[:2] == [sent_back, registered]  # then the officials being added
    assert XSS not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Lê Văn Minh (xa.damai)" in page and "HTX Đa Mai" in page
    shown = translator("vi").datetime(at)
    assert "00:30" in shown and "2026" in shown and shown in page
    assert f'href="/console/audit?producer={world.da_mai}"' in page


async def test_filters_by_action_official_producer_and_days(console: Console) -> None:
    world = await World(console).build()
    late_first = datetime(2026, 3, 1, 16, 59, tzinfo=UTC)  # 23:59 on 1 March in Vietnam
    early_second = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # 00:00 on 2 March
    a = await write(console, action="producer.updated", entity_id=world.da_mai, at=late_first)
    b = await write(
        console, action="producer.registered", entity_id=world.xuan_luong, at=early_second
    )
    c = await write(
        console,
        action="producer.updated",
        entity_id=world.xuan_luong,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=world.hoa.id,
        at=early_second + timedelta(days=1),
    )
    await console.sign_in("admin")

    assert entry_ids(await page_of(console, "/console/audit?action=producer.updated")) == [c, a]
    by_official = await page_of(console, f"/console/audit?official={world.hoa.id}")
    assert entry_ids(by_official) == [c]
    assert f'<option value="{world.hoa.id}" selected>' in by_official
    by_producer = await page_of(console, f"/console/audit?producer={world.xuan_luong}")
    assert entry_ids(by_producer) == [c, b] and "HTX Xuân Lương" in by_producer
    day = await page_of(console, "/console/audit?from=2026-03-02&to=2026-03-02")
    assert entry_ids(day) == [b]
    assert entry_ids(await page_of(console, "/console/audit?to=2026-03-01")) == [a]
    both = f"/console/audit?action=producer.updated&producer={world.xuan_luong}&from=2026-03-02"
    assert entry_ids(await page_of(console, both)) == [c]
    # Values that cannot be read are left out, not errors.
    odd = await page_of(console, "/console/audit?from=2026-02-30&official=x&before=-1&action=")
    assert set(entry_ids(odd)) >= {a, b, c}
    assert NONE_MATCH not in odd


async def test_keyset_pages_follow_each_other_with_the_filter(console: Console) -> None:
    world = await World(console).build()
    async with console.db.transaction() as session:
        for n in range(120):
            audit(
                session,
                actor_kind=ActorKind.USER,
                actor_id=1,
                action="producer.updated",
                entity="producer",
                entity_id=world.da_mai,
                n=n,
            )
    await write(console, action="producer.registered", entity_id=world.da_mai)
    await console.sign_in("admin")
    path: str | None = "/console/audit?action=producer.updated"
    seen: list[int] = []
    pages = 0
    while path is not None:
        page = await page_of(console, path)
        seen += entry_ids(page)
        path = older_link(page)
        pages += 1
        if path is not None:
            assert "action=producer.updated" in path and "before=" in path
    assert pages == 3 and len(seen) == 120 == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    last = await page_of(console, f"/console/audit?action=producer.updated&before={seen[-1]}")
    assert entry_ids(last) == [] and NONE_MATCH in last


async def test_officials_see_their_areas_and_their_own_actions(console: Console) -> None:
    world = await World(console).build()
    here = await write(console, action="producer.registered", entity_id=world.da_mai)
    document = await document_of(console, world.da_mai)
    here_document = await write(
        console,
        action="document.uploaded",
        entity="dossier_document",
        entity_id=document,
        actor_kind=ActorKind.USER,
        actor_id=3,
    )
    neighbour = await write(console, action="producer.registered", entity_id=world.xuan_luong)
    elsewhere = await write(console, action="producer.registered", entity_id=world.ba_dinh)
    own_elsewhere = await write(
        console,
        action="producer.updated",
        entity_id=world.ba_dinh,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=world.minh.id,
    )
    others_elsewhere = await write(
        console,
        action="producer.updated",
        entity_id=world.ba_dinh,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=world.hoa.id,
    )

    await console.sign_in("xa.damai")
    commune = entry_ids(await page_of(console, "/console/audit"))
    assert commune == [own_elsewhere, here_document, here]
    uploads = await page_of(console, "/console/audit?action=document.uploaded")
    assert entry_ids(uploads) == [here_document]
    own = await page_of(console, "/console/audit?action=producer.updated")
    assert entry_ids(own) == [own_elsewhere]
    await page_of(console, f"/console/audit?producer={world.xuan_luong}", status=404)
    await page_of(console, f"/console/audit?producer={world.ba_dinh}", status=404)
    await page_of(console, "/console/audit?producer=999999", status=404)
    theirs = await page_of(console, f"/console/audit?official={world.hoa.id}")
    assert entry_ids(theirs) == []

    console.client.session.cookie_jar.clear()
    await console.sign_in("tinh.bacninh")
    province = entry_ids(await page_of(console, "/console/audit"))
    assert province == [others_elsewhere, neighbour, here_document, here]

    console.client.session.cookie_jar.clear()
    await console.sign_in("admin")
    everything = set(entry_ids(await page_of(console, "/console/audit")))
    assert {
        here,
        here_document,
        neighbour,
        elsewhere,
        own_elsewhere,
        others_elsewhere,
    } <= everything
    async with console.db.sessions() as session:
        officials = (await session.get(Official, world.minh.id), world.admin)
    assert all(o is not None for o in officials)
    assert len(everything) == 6 + 3  # and the three officials being added (no producer)


async def test_the_page_needs_a_signed_in_official(console: Console) -> None:
    response = await console.get("/console/audit?action=producer.registered")
    assert response.status in (302, 303)
    assert response.headers["Location"].startswith("/console/login")


def test_every_action_the_code_writes_has_a_label() -> None:
    """An action without a label shows in the log as its code ("sheet.saved"); each action
    literal given to ``audit(action=…)`` (or to a helper's ``action`` argument) has one."""
    import ast
    from pathlib import Path

    from console.audit import ACTIONS

    root = Path(__file__).resolve().parents[2]
    written: set[str] = set()
    for package in ("storage", "bot", "console", "handlers"):
        for path in (root / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                values = [k.value for k in node.keywords if k.arg == "action"]
                if getattr(node.func, "id", "") == "_audit" and len(node.args) > 2:
                    values.append(node.args[2])
                for value in values:
                    options = (
                        [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
                    )
                    written |= {  # "entity.verb" (not argparse's "store_true")
                        o.value
                        for o in options
                        if isinstance(o, ast.Constant) and "." in str(o.value)
                    }
    assert written, "the scan found no audited action"
    assert {"document.uploaded", "certificate.issue", "sheet.saved"} <= written
    assert not written - ACTIONS.keys(), f"actions without a label: {written - ACTIONS.keys()}"

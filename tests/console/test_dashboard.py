"""The dashboard on both backends: counts within the official's scope (a commune official counts
only their commune), the documents waiting for review oldest first with their ages by the Clock,
and the plan's progress (numbers and chart) against the dossiers filed this year."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.i18n import translator
from console.dashboard import waited
from storage.dashboard import overview, waiting_documents
from storage.dossiers import refresh_waiting
from storage.models import Area, Dossier, DossierDocument, ProducerMember
from storage.officials import scope_of
from storage.states import DocumentStatus, DossierStatus, OfficialRole
from tests.console.conftest import Console
from tests.console.dashboard_data import add_dossier
from tests.console.test_conversations import ESCAPED, XSS, commune_setup, question

DOSSIER_WORDS = [str(state) for state in DossierStatus]


async def _places(console: Console) -> dict[str, Area]:
    bac_ninh = await console.area("bac ninh")
    return {
        "bac_ninh": bac_ninh,
        "da_mai": await console.area("bac ninh", "Đa Mai"),
        "xuan_luong": await console.area("bac ninh", "Xuân Lương"),
        "luc_ngan": await console.area("bac ninh", "Lục Ngạn"),
        "ha_noi": await console.area("ha noi"),
        "ba_dinh": await console.area("ha noi", "Ba Đình"),
    }


async def test_counts_stay_within_the_officials_areas(console: Console) -> None:
    p = await _places(console)
    da_mai_1 = await console.producer("HTX Đa Mai", p["bac_ninh"], p["da_mai"])
    da_mai_2 = await console.producer("HTX Chè Đa Mai", p["bac_ninh"], p["da_mai"])
    xuan = await console.producer("HTX Xuân Lương", p["bac_ninh"], p["xuan_luong"])
    ba_dinh = await console.producer("HTX Ba Đình", p["ha_noi"], p["ba_dinh"])
    await add_dossier(console, da_mai_1, status=DossierStatus.SUBMITTED)
    await add_dossier(console, da_mai_2, status=DossierStatus.DRAFT)
    await add_dossier(console, xuan, status=DossierStatus.APPROVED)
    await add_dossier(console, ba_dinh, status=DossierStatus.SUBMITTED)
    commune = await console.official("xa.damai", OfficialRole.COMMUNE, [p["da_mai"]])
    province = await console.official("tinh.bn", OfficialRole.PROVINCE, [p["bac_ninh"]])
    admin = await console.official("admin")

    async with console.db.sessions() as session:
        seen = {
            o.username: await overview(session, await scope_of(session, o))
            for o in (commune, province, admin)
        }
    assert (seen["xa.damai"].producers, seen["xa.damai"].products) == (2, 2)
    assert seen["xa.damai"].dossiers_by_state["submitted"] == 1
    assert seen["xa.damai"].dossiers_by_state["draft"] == 1
    assert seen["xa.damai"].dossiers_by_state["approved"] == 0
    assert seen["xa.damai"].products_by_state["draft"] == 1
    assert (seen["tinh.bn"].producers, seen["tinh.bn"].dossiers) == (3, 3)
    assert seen["tinh.bn"].dossiers_by_state["approved"] == 1
    assert (seen["admin"].producers, seen["admin"].dossiers) == (4, 4)
    assert seen["admin"].dossiers_by_state["submitted"] == 2

    await console.sign_in("xa.damai")
    page = await (await console.get("/console/")).text()
    tiles = re.findall(r"<dt>[^<]*</dt><dd>(\d+)</dd>", page)
    assert tiles == ["2", "2", "2"]  # producers, products, dossiers of Đa Mai only
    assert "HTX Xuân Lương" not in page and "HTX Ba Đình" not in page


async def test_waiting_documents_oldest_first_with_their_age(console: Console) -> None:
    p = await _places(console)
    now = console.clock.now()
    da_mai = await console.producer("HTX Đa Mai", p["bac_ninh"], p["da_mai"])
    xuan = await console.producer("HTX Xuân Lương", p["bac_ninh"], p["xuan_luong"])
    # Uploaded five days ago, filed three days ago: it has waited three days.
    filed = await add_dossier(
        console, da_mai, name="Nước mắm", submitted_at=now - timedelta(days=3),
        documents=[
            ("registration_form", DocumentStatus.RECEIVED, now - timedelta(days=5)),
            ("business_registration", DocumentStatus.APPROVED, now - timedelta(days=5)),
        ],
    )  # fmt: skip
    # Sent back, corrected five hours ago: it has waited five hours.
    corrected = await add_dossier(
        console, da_mai, name="Chè xanh", status=DossierStatus.EDITED,
        submitted_at=now - timedelta(days=10),
        documents=[("registration_form", DocumentStatus.EDITED, now - timedelta(hours=5))],
    )  # fmt: skip
    await add_dossier(  # a draft's documents wait for nobody
        console, da_mai, name="Bánh", status=DossierStatus.DRAFT,
        documents=[("registration_form", DocumentStatus.RECEIVED, now - timedelta(days=30))],
    )  # fmt: skip
    await add_dossier(  # another commune's
        console, xuan, name="Mật ong", submitted_at=now - timedelta(days=20),
        documents=[("registration_form", DocumentStatus.RECEIVED, now - timedelta(days=20))],
    )  # fmt: skip
    official = await console.official("xa.damai", OfficialRole.COMMUNE, [p["da_mai"]], locale="en")
    async with console.db.sessions() as session:
        documents, total = await waiting_documents(session, await scope_of(session, official))
    assert total == 2
    assert [(d.dossier_id, d.product_name) for d in documents] == [
        (filed, "Nước mắm"),
        (corrected, "Chè xanh"),
    ]
    assert [d.since for d in documents] == [now - timedelta(days=3), now - timedelta(hours=5)]

    await console.sign_in("xa.damai")
    page = await (await console.get("/console/")).text()
    waiting = page[page.index('id="waiting"') :]
    assert waiting.index(f'href="/console/dossiers/{filed}"') < waiting.index(
        f'href="/console/dossiers/{corrected}"'
    )
    assert "waiting 3 days" in waiting and "waiting 5 hours" in waiting
    assert "Mật ong" not in page and "Bánh" not in page
    console.clock.advance(days=2)
    await console.sign_in("xa.damai")  # the session has ended meanwhile
    page = await (await console.get("/console/")).text()
    assert "waiting 5 days" in page and "waiting 2 days" in page

    async with console.db.sessions() as session:  # the province sees both communes
        province = await console.official("tinh.bn", OfficialRole.PROVINCE, [p["bac_ninh"]])
        _, total = await waiting_documents(session, await scope_of(session, province))
    assert total == 3


async def test_a_product_counts_under_its_latest_dossier_in_every_scope(console: Console) -> None:
    """A product evaluated again (a newer dossier, which takes the ``latest`` mark) counts under
    the new dossier's state; both dossiers count among the dossiers; an administrator, who sees
    everything (read without the area joins), counts and lists the same as the areas."""
    p = await _places(console)
    now = console.clock.now()
    da_mai = await console.producer("HTX Đa Mai", p["bac_ninh"], p["da_mai"])
    ba_dinh = await console.producer("HTX Ba Đình", p["ha_noi"], p["ba_dinh"])
    first = await add_dossier(console, da_mai, status=DossierStatus.REJECTED)
    await add_dossier(
        console, ba_dinh, name="Cốm", submitted_at=now - timedelta(days=1),
        documents=[("registration_form", DocumentStatus.RECEIVED, now - timedelta(days=2))],
    )  # fmt: skip
    async with console.db.transaction() as session:
        old = await session.get_one(Dossier, first)
        old.latest = False
        await session.flush()
        again = Dossier(
            product_id=old.product_id, kind="re_rating", rules_version="2026.1",
            status=DossierStatus.SUBMITTED, submitted_at=now - timedelta(hours=3),
        )  # fmt: skip
        session.add(again)
        await session.flush()
        session.add(
            DossierDocument(
                dossier_id=again.id, doc_type="registration_form", status=DocumentStatus.RECEIVED,
                created_at=now - timedelta(hours=4), updated_at=now - timedelta(hours=4),
            )
        )  # fmt: skip
        await refresh_waiting(session, again)
    commune = await console.official("xa.damai", OfficialRole.COMMUNE, [p["da_mai"]])
    province = await console.official("tinh.bn", OfficialRole.PROVINCE, [p["bac_ninh"]])
    admin = await console.official("admin")
    async with console.db.sessions() as session:
        seen = {}
        for o in (commune, province, admin):
            scope = await scope_of(session, o)
            seen[o.username] = (
                await overview(session, scope),
                await waiting_documents(session, scope),
            )
    for username in ("xa.damai", "tinh.bn"):
        counts, (documents, total) = seen[username]
        assert (counts.products, counts.dossiers) == (1, 2)
        assert counts.products_by_state["submitted"] == 1
        assert counts.products_by_state["rejected"] == 0
        assert counts.dossiers_by_state["rejected"] == counts.dossiers_by_state["submitted"] == 1
        assert total == 1 and [d.since for d in documents] == [now - timedelta(hours=3)]
    counts, (documents, total) = seen["admin"]
    assert (counts.producers, counts.products, counts.dossiers) == (2, 2, 3)
    assert counts.products_by_state == {**dict.fromkeys(DOSSIER_WORDS, 0), "submitted": 2}
    assert counts.dossiers_by_state["rejected"] == 1
    assert total == 2
    assert [(d.product_name, d.since) for d in documents] == [
        ("Cốm", now - timedelta(days=1)),
        ("Nước mắm cốt", now - timedelta(hours=3)),
    ]
    async with console.db.sessions() as session:  # and a limit takes the oldest only
        documents, total = await waiting_documents(session, await scope_of(session, admin), 1)
    assert (total, [d.product_name for d in documents]) == (2, ["Cốm"])


def test_ages_are_said_in_days_then_hours_then_minutes() -> None:
    now = translator("en")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    assert waited(start, start + timedelta(days=3, hours=23), now) == "3 days"
    assert waited(start, start + timedelta(days=1), now) == "1 day"
    assert waited(start, start + timedelta(hours=5, minutes=59), now) == "5 hours"
    assert waited(start, start + timedelta(minutes=12), now) == "12 minutes"
    assert waited(start, start - timedelta(minutes=1), now) == "0 minutes"  # a clock behind
    assert waited(start, start + timedelta(days=3), translator("vi")) == "3 ngày"


async def test_open_questions_are_a_queue_on_the_dashboard(console: Console) -> None:
    mine, theirs, user_id = await commune_setup(console)
    async with console.db.sessions() as session:
        their_user = await session.scalar(
            select(ProducerMember.user_id).where(ProducerMember.producer_id == theirs)
        )
    assert their_user is not None
    await question(console, mine, user_id, "Khi nào có đợt đánh giá?", timedelta(days=2))
    await question(console, theirs, their_user, "Câu của xã khác", timedelta(days=9))
    await console.sign_in("xa.damai")

    page = await (await console.get("/console/")).text()
    assert "1 trên 1 câu hỏi đang chờ" in page
    assert "Khi nào có đợt đánh giá?" in page and "đã chờ 2 ngày" in page
    assert f"HTX {ESCAPED}" in page and XSS not in page
    assert "Câu của xã khác" not in page
    assert f'href="/console/producers/{mine}/transcript"' in page
    assert 'href="/console/questions"' in page

"""Announcements in storage, on SQLite and PostgreSQL: each audience filter narrows to the
producers and people it names, counts of reachable, blocked and muted chats, the writer's scope
(a commune official cannot reach outside their communes), versions and audit, and deliveries
made in batches: twice is the same rows, a batch lost in a crash is redone on resumption with
every recipient exactly once, muted people get none, and the database refuses a second copy."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.announcements import (
    AnnouncementError,
    AnnouncementValues,
    Audience,
    AudienceCounts,
    Button,
    StaleAnnouncement,
    audience_counts,
    create_announcement,
    delivery_counts,
    materialize_deliveries,
    mute,
    schedule_announcement,
    unmute,
    update_announcement,
)
from storage.areas import find_commune, find_province, import_areas
from storage.clock import ManualClock
from storage.db import Database
from storage.dossiers import create_product
from storage.models import (
    Announcement,
    Area,
    AuditEntry,
    ChannelIdentity,
    Delivery,
    Producer,
    ProducerMember,
    User,
)
from storage.officials import Scope, add_official, scope_of
from storage.rounds import RoundValues, create_round
from storage.states import (
    AnnouncementStatus,
    DeliveryReason,
    DeliveryStatus,
    DossierStatus,
    OfficialRole,
    RoundLevel,
)
from tests.engine.conftest import database

__all__ = ["database"]

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "communes-sample.csv"
NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
PASSWORD = "a long enough password"


@dataclass
class World:
    """Five producers (P1, P3 in Lục Ngạn; P2, P5 in Sơn Động, Bắc Ninh; P4 in Hà Nội) and
    their people; the officials' scopes; a Bắc Ninh round."""

    admin: Scope
    bac_ninh: Scope
    luc_ngan: Scope
    luc_ngan_area: int
    son_dong_area: int
    ha_noi_area: int
    round_id: int
    users: dict[str, int]


async def _area(session: AsyncSession, province: str, commune: str | None = None) -> Area:
    (found,) = await find_province(session, province)
    if commune is not None:
        (found,) = await find_commune(session, found.area.id, commune)
    return found.area


async def _scope(
    session: AsyncSession, username: str, role: OfficialRole, areas: list[Area]
) -> Scope:
    person = await add_official(
        session, username=username, display_name=username.title(), role=role, areas=areas,
        locale="vi", password=PASSWORD, clock=ManualClock(NOW),
    )  # fmt: skip
    return await scope_of(session, person)


async def _producer(session: AsyncSession, province: Area, commune: Area | None) -> Producer:
    row = Producer(
        org_type="coop", name="HTX", tax_code="0101234567", rep_name="Lan",
        rep_position="Giám đốc", rep_gender="female", rep_ethnicity="Kinh",
        phone="0912345678", province_id=province.id,
        commune_id=commune.id if commune else None,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def _person(
    session: AsyncSession,
    owner: Producer,
    locale: str | None,
    chats: list[str],
    *,
    blocked: bool = False,
    muted: bool = False,
) -> int:
    user = User(display_name="u", locale=locale, announcements_muted_at=NOW if muted else None)
    session.add(user)
    await session.flush()
    session.add(ProducerMember(producer_id=owner.id, user_id=user.id))
    for channel in chats:
        session.add(
            ChannelIdentity(
                user_id=user.id,
                channel=channel,
                chat_id=f"{channel}-{user.id}",
                blocked_at=NOW if blocked else None,
            )
        )
    await session.flush()
    return user.id


async def _product(
    session: AsyncSession, owner: Producer, user_id: int, product_set: int, status: DossierStatus
) -> None:
    _product, dossier = await create_product(
        session, producer_id=owner.id, user_id=user_id,
        values={"product_set": product_set, "name": "Sản phẩm"}, dossier_kind="first",
        certificate_ref=None, rules_version="2026.1",
    )  # fmt: skip
    dossier.status = status
    await session.flush()


@pytest.fixture
async def world(database: Database) -> World:
    async with database.transaction() as session:
        await import_areas(session, SAMPLE, valid_from=date(2025, 7, 1))
    async with database.transaction() as session:
        bac_ninh = await _area(session, "bac ninh")
        luc_ngan = await _area(session, "bac ninh", "Lục Ngạn")
        son_dong = await _area(session, "bac ninh", "Sơn Động")
        ha_noi = await _area(session, "ha noi")
        admin = await _scope(session, "admin", OfficialRole.ADMIN, [])
        province = await _scope(session, "bacninh", OfficialRole.PROVINCE, [bac_ninh])
        commune = await _scope(session, "lucngan", OfficialRole.COMMUNE, [luc_ngan])
        p1 = await _producer(session, bac_ninh, luc_ngan)
        p2 = await _producer(session, bac_ninh, son_dong)
        p3 = await _producer(session, bac_ninh, luc_ngan)
        p4 = await _producer(session, ha_noi, None)
        await _producer(session, bac_ninh, son_dong)  # P5: nobody in chat
        users = {
            "u1": await _person(session, p1, "vi", ["telegram"]),
            "u2": await _person(session, p1, "en", ["telegram", "zalo"]),
            "u3": await _person(session, p2, None, ["telegram"], blocked=True),
            "u4": await _person(session, p3, "vi", ["telegram"], muted=True),
            "u5": await _person(session, p4, "vi", ["telegram"]),
        }
        await _product(session, p1, users["u1"], 21, DossierStatus.DRAFT)
        await _product(session, p2, users["u3"], 5, DossierStatus.SUBMITTED)
        await _product(session, p4, users["u5"], 21, DossierStatus.DRAFT)
        held = await create_round(
            session,
            province,
            RoundValues(
                level=RoundLevel.PROVINCE,
                name="Đợt 1",
                opens_on=date(2026, 1, 1),
                submission_deadline=date(2026, 4, 30),
                evaluation_deadline=date(2026, 6, 15),
                results_on=date(2026, 6, 30),
                ceremony_on=None,
                area_ids=(bac_ninh.id,),
            ),
            rules_version="2026.1",
            now=NOW,
        )
        return World(admin, province, commune, luc_ngan.id, son_dong.id, ha_noi.id, held.id, users)


async def _counts(database: Database, scope: Scope, audience: Audience) -> AudienceCounts:
    async with database.transaction() as session:
        return await audience_counts(session, scope, audience)


# counts: producers, producers reachable, people, reachable, unreachable, muted


async def test_everyone_counts_reachable_blocked_and_muted(
    database: Database, world: World
) -> None:
    everyone = Audience()
    assert await _counts(database, world.admin, everyone) == AudienceCounts(5, 2, 6, 4, 1, 1)
    assert await _counts(database, world.bac_ninh, everyone) == AudienceCounts(4, 1, 5, 3, 1, 1)
    assert await _counts(database, world.luc_ngan, everyone) == AudienceCounts(2, 1, 4, 3, 0, 1)


async def test_each_filter_narrows(database: Database, world: World) -> None:
    admin = world.admin
    cases = {
        "Sơn Động": (Audience(area_ids=frozenset({world.son_dong_area})), (2, 0, 1, 0, 1, 0)),
        "Hà Nội": (Audience(area_ids=frozenset({world.ha_noi_area})), (1, 1, 1, 1, 0, 0)),
        "set 21": (Audience(product_sets=frozenset({21})), (2, 2, 4, 4, 0, 0)),
        "set 5": (Audience(product_sets=frozenset({5})), (1, 0, 1, 0, 1, 0)),
        "no product": (Audience(no_product=True), (2, 0, 1, 0, 0, 1)),
        "unfiled": (Audience(unfiled_for_round=world.round_id), (1, 1, 3, 3, 0, 0)),
        "submitted": (
            Audience(dossier_states=frozenset({DossierStatus.SUBMITTED})),
            (1, 0, 1, 0, 1, 0),
        ),
        "english": (Audience(languages=frozenset({"en"})), (5, 1, 2, 2, 0, 0)),
        "vietnamese": (Audience(languages=frozenset({"vi"})), (5, 2, 4, 2, 1, 1)),
        "zalo": (Audience(channels=frozenset({"zalo"})), (5, 1, 1, 1, 0, 0)),
        "set 21 in Bắc Ninh, English, telegram": (
            Audience(
                product_sets=frozenset({21}),
                languages=frozenset({"en"}),
                channels=frozenset({"telegram"}),
            ),
            (2, 1, 1, 1, 0, 0),
        ),
    }
    for name, (audience, expected) in cases.items():
        assert await _counts(database, admin, audience) == AudienceCounts(*expected), name
    # The Bắc Ninh official's view of set 21 leaves Hà Nội's producer out.
    bac_ninh = await _counts(database, world.bac_ninh, Audience(product_sets=frozenset({21})))
    assert bac_ninh == AudienceCounts(1, 1, 3, 3, 0, 0)


async def test_commune_official_cannot_target_outside(database: Database, world: World) -> None:
    outside = Audience(area_ids=frozenset({world.son_dong_area}))
    with pytest.raises(AnnouncementError) as raised:
        await _counts(database, world.luc_ngan, outside)
    assert raised.value.field == "areas"
    own = Audience(area_ids=frozenset({world.luc_ngan_area}))
    assert await _counts(database, world.luc_ngan, own) == AudienceCounts(2, 1, 4, 3, 0, 1)
    with pytest.raises(AnnouncementError):  # Hà Nội is not Bắc Ninh's
        await _counts(database, world.bac_ninh, Audience(area_ids=frozenset({world.ha_noi_area})))
    async with database.transaction() as session:
        with pytest.raises(AnnouncementError) as refused:
            await create_announcement(
                session, world.luc_ngan, AnnouncementValues("Thông báo", Audience()), now=NOW
            )
    assert refused.value.field == "role"


async def _scheduled(database: Database, scope: Scope, audience: Audience) -> int:
    async with database.transaction() as session:
        made = await create_announcement(
            session,
            scope,
            AnnouncementValues(
                "Đợt 2 đã mở",
                audience,
                text_en="Round 2 is open",
                buttons=(Button("Xem hạn", "/deadlines", "See deadlines"),),
            ),
            now=NOW,
        )
        await schedule_announcement(session, scope, made.id, at=NOW, version=1, now=NOW)
        return made.id


async def _deliveries(database: Database, announcement_id: int) -> list[tuple[int, str, str]]:
    async with database.transaction() as session:
        rows = await session.execute(
            select(Delivery.user_id, Delivery.channel, Delivery.status)
            .where(Delivery.announcement_id == announcement_id)
            .order_by(Delivery.user_id, Delivery.channel)
        )
        return [(u, c, s) for u, c, s in rows.all()]


async def _run(database: Database, announcement_id: int, **given: int) -> int:
    """Materializes in batches of two people until done; how many batches added rows."""
    for batches in range(10):  # a run that never ends fails
        async with database.transaction() as session:
            step = await materialize_deliveries(
                session, announcement_id, now=NOW, batch_size=2, **given
            )
        if step.done:
            return batches
        given = {}
    raise AssertionError("materializing never finished")


def _expected(world: World) -> list[tuple[int, str, str]]:
    u = world.users
    return sorted(
        [
            (u["u1"], "telegram", DeliveryStatus.WAITING),
            (u["u2"], "telegram", DeliveryStatus.WAITING),
            (u["u2"], "zalo", DeliveryStatus.WAITING),
            (u["u3"], "telegram", DeliveryStatus.FAILED),
            (u["u5"], "telegram", DeliveryStatus.WAITING),
        ]
    )


async def test_materialize_twice_is_the_same_rows(database: Database, world: World) -> None:
    announcement_id = await _scheduled(database, world.admin, Audience())
    assert await _run(database, announcement_id) == 2  # 4 people (u4 muted), 2 a batch
    first = await _deliveries(database, announcement_id)
    assert first == _expected(world)
    assert world.users["u4"] not in {u for u, _, _ in first}  # muted: no delivery
    assert await _run(database, announcement_id, after_user_id=0) == 2  # all over again
    assert await _deliveries(database, announcement_id) == first
    async with database.transaction() as session:
        counts = await delivery_counts(session, announcement_id)
        assert counts.total == 5
        assert counts.of(DeliveryStatus.WAITING) == 4
        assert counts.failed_by_reason == {str(DeliveryReason.BLOCKED): 1}
        stored = await session.get_one(Announcement, announcement_id)
        assert (stored.status, stored.recipients) == (AnnouncementStatus.SENDING, 5)
        assert stored.materialized_at is not None


class Crash(Exception):
    pass


async def test_interrupted_materialize_resumes_without_duplicates_or_gaps(
    database: Database, world: World
) -> None:
    announcement_id = await _scheduled(database, world.admin, Audience())
    async with database.transaction() as session:
        first = await materialize_deliveries(session, announcement_id, now=NOW, batch_size=2)
    assert (first.added, first.done) == (3, False)  # u1 (1 chat), u2 (2 chats)
    with pytest.raises(Crash):  # the second batch dies before its commit
        async with database.transaction() as session:
            lost = await materialize_deliveries(session, announcement_id, now=NOW, batch_size=2)
            assert lost.added == 2
            raise Crash
    assert len(await _deliveries(database, announcement_id)) == 3
    assert await _run(database, announcement_id) == 1  # resumes after u2: one batch left
    assert await _deliveries(database, announcement_id) == _expected(world)
    async with database.transaction() as session:
        counts = await delivery_counts(session, announcement_id)
    assert counts.total == 5


async def test_scoped_and_filtered_materialize(database: Database, world: World) -> None:
    english = Audience(languages=frozenset({"en"}))
    announcement_id = await _scheduled(database, world.bac_ninh, english)
    await _run(database, announcement_id)
    u2 = world.users["u2"]
    assert await _deliveries(database, announcement_id) == [
        (u2, "telegram", DeliveryStatus.WAITING),
        (u2, "zalo", DeliveryStatus.WAITING),
    ]
    province_only = await _scheduled(database, world.bac_ninh, Audience())
    await _run(database, province_only)
    assert world.users["u5"] not in {u for u, _, _ in await _deliveries(database, province_only)}


async def test_a_draft_makes_no_deliveries(database: Database, world: World) -> None:
    async with database.transaction() as session:
        draft = await create_announcement(
            session, world.admin, AnnouncementValues("Nháp", Audience()), now=NOW
        )
        step = await materialize_deliveries(session, draft.id, now=NOW)
    assert step.done and step.added == 0
    assert await _deliveries(database, draft.id) == []


async def test_unique_delivery_per_announcement_user_and_channel(
    database: Database, world: World
) -> None:
    announcement_id = await _scheduled(database, world.admin, Audience())
    await _run(database, announcement_id)
    async with database.transaction() as session:
        producer_id = await session.scalar(
            select(ProducerMember.producer_id).where(ProducerMember.user_id == world.users["u1"])
        )
    assert producer_id is not None
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            session.add(
                Delivery(
                    announcement_id=announcement_id,
                    user_id=world.users["u1"],
                    producer_id=producer_id,
                    channel="telegram",
                    chat_id="other",
                    created_at=NOW,
                )
            )


async def test_edits_are_versioned_and_audited(database: Database, world: World) -> None:
    values = AnnouncementValues("Đợt 2", Audience(product_sets=frozenset({21})))
    async with database.transaction() as session:
        made = await create_announcement(session, world.bac_ninh, values, now=NOW)
        announcement_id = made.id
    later = NOW + timedelta(hours=1)
    async with database.transaction() as session:
        changed = await update_announcement(
            session, world.bac_ninh, announcement_id, replace(values, text_vi="Đợt 2 (sửa)"),
            version=1, now=later,
        )  # fmt: skip
        assert (changed.version, changed.text_vi) == (2, "Đợt 2 (sửa)")
    with pytest.raises(StaleAnnouncement):
        async with database.transaction() as session:
            await update_announcement(
                session, world.bac_ninh, announcement_id, values, version=1, now=later
            )
    with pytest.raises(AnnouncementError):  # outside the official's province
        async with database.transaction() as session:
            await update_announcement(
                session, world.bac_ninh, announcement_id,
                replace(values, audience=Audience(area_ids=frozenset({world.ha_noi_area}))),
                version=2, now=later,
            )  # fmt: skip
    with pytest.raises(AnnouncementError):  # a button runs a command
        async with database.transaction() as session:
            await update_announcement(
                session, world.bac_ninh, announcement_id,
                replace(values, buttons=(Button("Xem", "deadlines"),)), version=2, now=later,
            )  # fmt: skip
    async with database.transaction() as session:
        await schedule_announcement(
            session, world.bac_ninh, announcement_id, at=later, version=2, now=later
        )
        actions = list(
            await session.scalars(
                select(AuditEntry.action)
                .where(
                    AuditEntry.entity == "announcement", AuditEntry.entity_id == announcement_id
                )
                .order_by(AuditEntry.id)
            )
        )
        assert actions == [
            "announcement.created",
            "announcement.updated",
            "announcement.scheduled",
        ]
    async with database.transaction() as session:
        stored = await session.get_one(Announcement, announcement_id)
        assert stored.status == AnnouncementStatus.SCHEDULED


async def test_mute_and_unmute(database: Database, world: World) -> None:
    u1 = world.users["u1"]
    async with database.transaction() as session:
        assert await mute(session, u1, NOW)
        assert not await mute(session, u1, NOW)  # already
    assert await _counts(database, world.admin, Audience()) == AudienceCounts(5, 2, 6, 3, 1, 2)
    announcement_id = await _scheduled(database, world.admin, Audience())
    await _run(database, announcement_id)
    assert u1 not in {u for u, _, _ in await _deliveries(database, announcement_id)}
    async with database.transaction() as session:
        assert await unmute(session, u1, NOW)
        assert not await unmute(session, u1, NOW)
    assert await _counts(database, world.admin, Audience()) == AudienceCounts(5, 2, 6, 4, 1, 1)


async def test_the_busy_tables_can_be_vacuumed_where_that_means_something(
    database: Database,
) -> None:
    """PostgreSQL keeps old row versions until a vacuum (the broadcaster runs one every 2,000
    copies); SQLite has none to clear."""
    ran = await database.vacuum(["outbox", "deliveries"])
    assert ran is (not database.is_sqlite)
    assert await database.vacuum(["outbox; DROP TABLE outbox"]) is False  # names only

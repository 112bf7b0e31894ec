"""Plans on both backends: an administrator creates, changes and deletes a plan and its targets
(with validation messages); province and commune officials read their province's plans and get
403 on every change; another province's official gets 404; forms need the CSRF token. The
progress chart's numbers: dossiers filed this year and accepted, per target."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from sqlalchemy import func, select

from storage.models import Area, AuditEntry, Plan, PlanTarget
from storage.plans import PlanError, create_plan
from storage.states import DocumentStatus, DossierStatus, OfficialRole
from tests.console.conftest import Console, csrf_of
from tests.console.dashboard_data import add_dossier


async def _page(console: Console, path: str) -> str:
    response = await console.get(path)
    assert response.status == 200, response.status
    return await response.text()


async def _new_plan(console: Console, province: Area, year: str = "2026") -> int:
    csrf = csrf_of(await _page(console, "/console/plans"))
    response = await console.post(
        "/console/plans",
        {"csrf_token": csrf, "year": year, "area": str(province.id), "name": "KH OCOP Bắc Ninh"},
    )
    assert response.status == 303, await response.text()
    found = re.fullmatch(r"/console/plans/(\d+)", response.headers["Location"])
    assert found
    return int(found.group(1))


async def _add_target(console: Console, plan_id: int, **fields: str) -> int:
    csrf = csrf_of(await _page(console, f"/console/plans/{plan_id}"))
    response = await console.post(
        f"/console/plans/{plan_id}/targets", {"csrf_token": csrf, **fields}
    )
    return response.status


async def test_an_administrator_keeps_plans_and_targets(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    luc_ngan = await console.area("bac ninh", "Lục Ngạn")
    ba_dinh = await console.area("ha noi", "Ba Đình")
    await console.official("admin", locale="en")
    await console.sign_in("admin")

    plan_id = await _new_plan(console, bac_ninh)
    assert await _add_target(console, plan_id, count="25", min_stars="3") == 303
    assert (
        await _add_target(console, plan_id, count="1", min_stars="5", area=str(luc_ngan.id)) == 303
    )
    assert await _add_target(console, plan_id, count="2", tourism="1") == 303
    page = await _page(console, f"/console/plans/{plan_id}")
    assert "At least 25 products, 3★ or more" in page
    assert "At least 1 product, 5★ or more, in Xã Lục Ngạn" in page
    assert "At least 2 products, tourism services" in page

    # Validation: each wrong field says what to do, and nothing is stored.
    csrf = csrf_of(page)
    wrong = await console.post(
        f"/console/plans/{plan_id}/targets",
        {"csrf_token": csrf, "count": "0", "product_set": "9", "product_group": "I",
         "min_stars": "7"},
    )  # fmt: skip
    text = await wrong.text()
    assert wrong.status == 400
    assert "Enter how many products: a whole number from 1." in text
    assert "Choose a product set or a group, not both." in text
    assert "Choose stars from 1 to 5, or none." in text
    assert 'aria-invalid="true" aria-describedby="target-count-error"' in text
    outside = await console.post(
        f"/console/plans/{plan_id}/targets",
        {"csrf_token": csrf, "count": "1", "area": str(ba_dinh.id)},
    )
    assert outside.status == 400
    assert "Choose a commune of the plan&#39;s province." in await outside.text()
    twice = await console.post(
        "/console/plans",
        {"csrf_token": csrf, "year": "2026", "area": str(bac_ninh.id), "name": "Again"},
    )
    assert twice.status == 400
    assert "This province already has a plan for that year." in await twice.text()
    bad_year = await console.post(
        "/console/plans", {"csrf_token": csrf, "year": "1990", "area": "x", "name": " "}
    )
    text = await bad_year.text()
    assert bad_year.status == 400
    assert "Enter a year between 2000 and 2100." in text and "Choose a province." in text
    async with console.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PlanTarget)) == 3
        assert await session.scalar(select(func.count()).select_from(Plan)) == 1

    # Change the plan, remove a target, then the plan.
    changed = await console.post(
        f"/console/plans/{plan_id}",
        {"csrf_token": csrf, "year": "2027", "area": str(bac_ninh.id), "name": "Kế hoạch 2027"},
    )
    assert changed.status == 303
    page = await _page(console, f"/console/plans/{plan_id}")
    assert "Kế hoạch 2027" in page and "2027" in page
    async with console.db.sessions() as session:
        first = await session.scalar(select(func.min(PlanTarget.id)))
    removed = await console.post(
        f"/console/plans/{plan_id}/targets/{first}/delete", {"csrf_token": csrf}
    )
    assert removed.status == 303
    assert "At least 25 products" not in await _page(console, f"/console/plans/{plan_id}")
    assert (
        await console.post(f"/console/plans/{plan_id}/delete", {"csrf_token": csrf})
    ).status == 303
    assert (await console.get(f"/console/plans/{plan_id}")).status == 404
    async with console.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PlanTarget)) == 0
        actions = list(
            await session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "plan"))
        )
        actors = set(
            await session.scalars(select(AuditEntry.actor_id).where(AuditEntry.entity == "plan"))
        )
    assert actions[0] == "plan.create" and actions[-1] == "plan.delete"
    assert "plan.target_delete" in actions and "plan.update" in actions
    assert len(actors) == 1 and None not in actors  # the administrator is named


async def test_only_administrators_change_plans(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    ha_noi = await console.area("ha noi")
    await console.official("admin")
    await console.official("tinh.bn", OfficialRole.PROVINCE, [bac_ninh])
    await console.official("xa.damai", OfficialRole.COMMUNE, [da_mai])
    await console.official("tinh.hn", OfficialRole.PROVINCE, [ha_noi])
    await console.sign_in("admin")
    plan_id = await _new_plan(console, bac_ninh)
    assert await _add_target(console, plan_id, count="25") == 303
    await console.post(
        "/console/logout", {"csrf_token": csrf_of(await _page(console, "/console/"))}
    )

    for username in ("tinh.bn", "xa.damai"):
        await console.sign_in(username)
        page = await _page(console, f"/console/plans/{plan_id}")  # they read it
        assert "KH OCOP Bắc Ninh" in page and "Thêm chỉ tiêu" not in page
        assert f'action="/console/plans/{plan_id}/targets"' not in page
        listing = await _page(console, "/console/plans")
        assert "KH OCOP Bắc Ninh" in listing and 'action="/console/plans"' not in listing
        csrf = csrf_of(page)
        edits = [
            ("/console/plans", {"year": "2027", "area": str(bac_ninh.id), "name": "X"}),
            (f"/console/plans/{plan_id}", {"year": "2027", "area": str(bac_ninh.id), "name": "X"}),
            (f"/console/plans/{plan_id}/targets", {"count": "3"}),
            (f"/console/plans/{plan_id}/targets/1/delete", {}),
            (f"/console/plans/{plan_id}/delete", {}),
        ]
        for path, data in edits:
            response = await console.post(path, {"csrf_token": csrf, **data})
            assert response.status == 403, (username, path)
        await console.post("/console/logout", {"csrf_token": csrf})

    await console.sign_in("tinh.hn")  # another province's plan does not exist for them
    assert (await console.get(f"/console/plans/{plan_id}")).status == 404
    assert "KH OCOP Bắc Ninh" not in await _page(console, "/console/plans")
    async with console.db.sessions() as session:
        plan = await session.get(Plan, plan_id)
        assert plan is not None and plan.name == "KH OCOP Bắc Ninh" and plan.year == 2026
        assert await session.scalar(select(func.count()).select_from(PlanTarget)) == 1


async def test_plan_forms_need_the_sessions_token(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    await console.official("admin")
    await console.sign_in("admin")
    plan_id = await _new_plan(console, bac_ninh)
    for path in (
        "/console/plans",
        f"/console/plans/{plan_id}/targets",
        f"/console/plans/{plan_id}/delete",
    ):
        response = await console.post(
            path, {"year": "2026", "area": str(bac_ninh.id), "name": "X", "count": "2"}
        )
        assert response.status == 403
    async with console.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Plan)) == 1


async def test_no_plan_page_without_sign_in(console: Console) -> None:
    for path in ("/console/plans", "/console/plans/1"):
        response = await console.get(path)
        assert response.status == 302 and response.headers["Location"] == "/console/login"


async def test_the_chart_counts_dossiers_filed_this_year(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    luc_ngan = await console.area("bac ninh", "Lục Ngạn")
    ha_noi, ba_dinh = await console.area("ha noi"), await console.area("ha noi", "Ba Đình")
    now = console.clock.now()
    in_da_mai = await console.producer("HTX Đa Mai", bac_ninh, da_mai)
    in_luc_ngan = await console.producer("<script>alert(1)</script>", bac_ninh, luc_ngan)
    in_ba_dinh = await console.producer("HTX Ba Đình", ha_noi, ba_dinh)
    await add_dossier(console, in_da_mai, status=DossierStatus.SUBMITTED)
    await add_dossier(console, in_da_mai, status=DossierStatus.APPROVED)
    await add_dossier(console, in_da_mai, status=DossierStatus.DRAFT)  # not filed
    await add_dossier(console, in_da_mai, product_set=26, status=DossierStatus.HAS_ISSUES)
    await add_dossier(console, in_luc_ngan, status=DossierStatus.APPROVED)
    await add_dossier(  # filed last year
        console, in_luc_ngan, status=DossierStatus.APPROVED, submitted_at=now - timedelta(days=400)
    )
    await add_dossier(console, in_ba_dinh, status=DossierStatus.SUBMITTED)  # another province
    await console.official("admin", locale="en")
    await console.official("xa.damai", OfficialRole.COMMUNE, [da_mai], locale="en")
    await console.sign_in("admin")
    plan_id = await _new_plan(console, bac_ninh)
    await _add_target(console, plan_id, count="25", min_stars="3")
    await _add_target(console, plan_id, count="2", tourism="1")
    await _add_target(console, plan_id, count="1", min_stars="5", area=str(luc_ngan.id))
    await _add_target(console, plan_id, count="4", product_group="I")

    page = await _page(console, "/console/")
    numbers = re.findall(r'<p class="target-numbers">([^<]*)</p>', page)
    assert numbers == [
        "Target 25; dossiers submitted 4; accepted as valid 2.",
        "Target 2; dossiers submitted 1; accepted as valid 0.",
        "Target 1; dossiers submitted 1; accepted as valid 1.",
        "Target 4; dossiers submitted 3; accepted as valid 2.",  # set 9 is food
    ]
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
    assert 'width="41.60"' in svg  # 4 of 25 on 260 units
    assert 'x1="260.0"' in svg or 'x1="260"' in svg  # the target line at the end
    assert "the products certified this year with the target&#39;s stars or more" in page
    assert "<script>alert" not in page

    await console.post("/console/logout", {"csrf_token": csrf_of(page)})
    await console.sign_in("xa.damai")  # Đa Mai's dossiers only, Lục Ngạn's target left out
    page = await _page(console, "/console/")
    numbers = re.findall(r'<p class="target-numbers">([^<]*)</p>', page)
    assert numbers == [
        "Target 25; dossiers submitted 3; accepted as valid 1.",
        "Target 2; dossiers submitted 1; accepted as valid 0.",
        "Target 4; dossiers submitted 2; accepted as valid 1.",
    ]


async def test_names_in_plans_and_waiting_documents_show_as_text(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    hostile = "<script>alert(1)</script>"
    producer = await console.producer(hostile, bac_ninh, da_mai)
    await add_dossier(
        console, producer, name=hostile,
        documents=[("registration_form", DocumentStatus.RECEIVED, console.clock.now())],
    )  # fmt: skip
    await console.official("admin")
    await console.sign_in("admin")
    csrf = csrf_of(await _page(console, "/console/plans"))
    created = await console.post(
        "/console/plans",
        {"csrf_token": csrf, "year": "2026", "area": str(bac_ninh.id), "name": hostile},
    )
    assert created.status == 303
    for path in ("/console/", "/console/plans", created.headers["Location"]):
        page = await _page(console, path)
        assert hostile not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path


async def test_two_administrators_creating_the_same_plan_at_once(console: Console) -> None:
    """The second is refused as "taken", whether it saw the first plan or only the unique
    constraint did (PostgreSQL: both transactions open at once)."""
    bac_ninh = await console.area("bac ninh")
    admin = await console.official("admin")
    first_added, first_may_commit = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with console.db.transaction() as session:
            await create_plan(
                session, year=2026, province=bac_ninh, name="A", official_id=admin.id,
                clock=console.clock,
            )  # fmt: skip
            first_added.set()
            await first_may_commit.wait()

    async def second() -> str:
        await first_added.wait()
        try:
            async with console.db.transaction() as session:
                await create_plan(
                    session, year=2026, province=bac_ninh, name="B", official_id=admin.id,
                    clock=console.clock,
                )  # fmt: skip
        except PlanError as error:
            return error.problem
        return "stored"

    async def release() -> None:
        await first_added.wait()
        await asyncio.sleep(0.3)
        first_may_commit.set()

    _, problem, _ = await asyncio.gather(first(), second(), release())
    assert problem == "taken"
    async with console.db.sessions() as session:
        assert list(await session.scalars(select(Plan.name))) == ["A"]

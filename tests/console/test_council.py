"""Councils and scoring in the console on both backends: a province official seats council
officials, members score an entry (validation, a draft, a stale save told, CSRF), a member is
refused another member's sheet through the page until the scores close, closing is refused
while an entry has no submitted sheet and then shows the outcome; officials out of reach find
nothing (404) and members may not change the council (403)."""

from __future__ import annotations

import re

from sqlalchemy import select

from storage.models import CouncilMember, Official, Round, RoundEntry, ScoreSheet
from storage.states import EntryStatus, OfficialRole
from tests.console.conftest import PASSWORD, Console, csrf_of
from tests.scoring_data import council_official, every_minimum, full_points, make_entry, make_round


async def _page(console: Console, path: str, status: int = 200) -> str:
    response = await console.get(path)
    assert response.status == status, (path, response.status)
    return await response.text()


async def _as(console: Console, username: str) -> None:
    console.client.session.cookie_jar.clear()
    response = await console.sign_in(username)
    assert response.status in (302, 303), response.status


def _sheet(csrf: str, version: int, action: str, points: dict[str, str], **extra: object) -> dict:
    form: dict[str, object] = {"csrf_token": csrf, "version": str(version), "action": action}
    form.update({f"points-{code}": value for code, value in points.items()})
    form.update(extra)
    return form


async def _post_sheet(console: Console, entry: int, data: dict) -> tuple[int, str]:
    # A multi-valued form: the ticked criteria repeat their field name.
    fields = [(k, v) for k, v in data.items() if not isinstance(v, list)]
    fields += [(k, item) for k, v in data.items() if isinstance(v, list) for item in v]
    response = await console.client.post(
        f"/console/entries/{entry}/score", data=fields, allow_redirects=False
    )
    return response.status, await response.text()


async def _version(console: Console, entry: int, official: Official) -> int:
    async with console.db.sessions() as session:
        found = await session.scalar(
            select(ScoreSheet.version).where(
                ScoreSheet.entry_id == entry, ScoreSheet.official_id == official.id
            )
        )
    return found or 0


async def test_a_council_scores_an_entry_and_closes(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    hanoi = await console.area("ha noi")
    manager = await council_official(
        console.db, "tinh.bacninh", OfficialRole.PROVINCE, [bac_ninh], password=PASSWORD,
        council=False, locale="en", name="Province office",
    )  # fmt: skip
    lan, minh = [
        await council_official(console.db, u, OfficialRole.COMMUNE, [da_mai],
                               password=PASSWORD, name=n, locale="en")
        for u, n in (("hd.lan", "Lan Expert"), ("hd.minh", "Minh Expert"))
    ]  # fmt: skip
    await council_official(
        console.db, "no.role", OfficialRole.COMMUNE, [da_mai], password=PASSWORD, council=False
    )
    await council_official(console.db, "tinh.hanoi", OfficialRole.PROVINCE, [hanoi],
                           password=PASSWORD, council=False)  # fmt: skip
    round_id = await make_round(console.db, bac_ninh, manager.id)
    honey = await make_entry(console.db, round_id, bac_ninh, product="Mật ong <b>bạc hà</b>")
    tea = await make_entry(console.db, round_id, bac_ninh, product="Chè Lục Ngạn", product_set=5)

    # The manager seats two council officials, Lan as chair; one without the role is not
    # offered.
    await console.sign_in("tinh.bacninh")
    page = await _page(console, f"/console/rounds/{round_id}/council")
    assert "Lan Expert (hd.lan)" in page and "no.role" not in page
    assert f'href="/console/rounds/{round_id}"' in page
    csrf = csrf_of(page)
    add = f"/console/rounds/{round_id}/council/members"
    assert (await console.post(add, {"official": str(lan.id), "chair": "1"})).status == 403
    assert (await console.post(add, {"csrf_token": csrf, "official": str(lan.id), "chair": "1"})
            ).status == 303  # fmt: skip
    assert (await console.post(add, {"csrf_token": csrf, "official": str(minh.id)})).status == 303
    async with console.db.sessions() as session:
        no_role = await session.scalar(select(Official.id).where(Official.username == "no.role"))
    refused = await console.post(add, {"csrf_token": csrf, "official": str(no_role)})
    assert refused.status == 409
    assert "Only officials with the council role can sit on a council." in await refused.text()
    page = await _page(console, f"/console/rounds/{round_id}/council")
    assert "Lan Expert (chair)" in page and "Submitted: 0 of 2 · drafts: 0" in page
    # The manager sees no sheet and no form before the close.
    score = await _page(console, f"/console/entries/{honey}/score")
    assert "sealed until the round&#39;s scores are closed" in score and "points-A1" not in score

    # Another province's official and a commune official off the council find nothing.
    await _as(console, "tinh.hanoi")
    await _page(console, f"/console/rounds/{round_id}/council", 404)
    await _page(console, f"/console/entries/{honey}/score", 404)
    await _as(console, "no.role")
    await _page(console, f"/console/entries/{honey}/score", 404)
    mine = await _page(console, "/console/council")
    assert "Anh/chị không ở trong hội đồng đánh giá nào" in mine

    # Lan scores the honey: sections named from the rules, by part, with their maxima.
    await _as(console, "hd.lan")
    assert f"/console/rounds/{round_id}/council" in await _page(console, "/console/council")
    page = await _page(console, f"/console/entries/{honey}/score")
    assert "Mật ong &lt;b&gt;bạc hà&lt;/b&gt;" in page
    assert "A. Product and community strength (40)" in page
    assert "A1. Production organisation" in page
    assert (
        'name="points-A1" type="number" inputmode="decimal" min="0" max="18" step="0.01"' in page
    )
    assert "Met: Registered trademark or an accepted application" in page
    assert 'href="/console/dossiers/' in page
    csrf = csrf_of(page)
    # A member may not change the council.
    assert (await console.post(add, {"csrf_token": csrf, "official": str(lan.id)})).status == 403
    # Without the CSRF token nothing is saved.
    status, _ = await _post_sheet(console, honey, {"version": "0", "action": "draft"})
    assert status == 403
    # Wrong values are named field by field, and what was typed stays.
    wrong = full_points(1) | {"A1": "19", "A2": "1.234"}
    status, text = await _post_sheet(console, honey, _sheet(csrf, 0, "submit", wrong))
    assert status == 400
    assert "Enter points from 0 to 18." in text and "Use at most two decimals." in text
    assert 'value="1.234"' in text and 'aria-describedby="points-A1-error"' in text
    status, _ = await _post_sheet(console, honey, _sheet(csrf, 0, "draft", {"A1": "12.5"}))
    assert status == 303
    page = await _page(console, f"/console/entries/{honey}/score?saved=draft")
    assert "Draft saved. Other members cannot see it." in page and 'value="12.50"' in page
    # A second tab still at version 0 is told, not overwriting.
    status, text = await _post_sheet(console, honey, _sheet(csrf, 0, "draft", {"A1": "3"}))
    assert status == 409 and "your sheet was saved from another page" in text
    assert (await _version(console, honey, lan)) == 1
    marks = every_minimum(1)
    status, _ = await _post_sheet(
        console, honey, _sheet(csrf, 1, "submit", full_points(1, "0.9"), minimum=marks,
                               note="Tốt")
    )  # fmt: skip
    assert status == 303

    # Minh scores too, and cannot read Lan's sheet through the page before the close.
    await _as(console, "hd.minh")
    async with console.db.sessions() as session:
        lan_sheet = await session.scalar(
            select(ScoreSheet).where(ScoreSheet.official_id == lan.id)
        )
    assert lan_sheet is not None
    sealed = await console.get(f"/console/entries/{honey}/sheets/{lan.id}")
    assert sealed.status == 403
    text = await sealed.text()
    assert "Each member sees only their own score sheet" in text and "Tốt" not in text
    page = await _page(console, f"/console/entries/{honey}/score")
    assert "Tốt" not in page and "Lan Expert" not in page and 'value="16.20"' not in page
    csrf = csrf_of(page)
    status, _ = await _post_sheet(
        console, honey, _sheet(csrf, 0, "submit", full_points(1, "0.7"), minimum=marks[1:])
    )
    assert status == 303
    assert (await console.get(f"/console/entries/{honey}/sheets/{minh.id}")).status == 200

    # Minh is not the chair: no close. Lan (chair) closes: refused while the tea has no sheet.
    close = f"/console/rounds/{round_id}/council/close"
    assert (await console.post(close, {"csrf_token": csrf, "confirm": "1"})).status == 403
    await _as(console, "hd.lan")
    csrf = csrf_of(await _page(console, f"/console/rounds/{round_id}/council"))
    unconfirmed = await console.post(close, {"csrf_token": csrf})
    assert unconfirmed.status == 400
    refused = await console.post(close, {"csrf_token": csrf, "confirm": "1"})
    text = await refused.text()
    assert refused.status == 409
    assert "these entries have no submitted score sheet yet" in text
    assert f'href="/console/entries/{tea}/score">Chè Lục Ngạn' in text
    assert f'href="/console/entries/{honey}/score">Mật ong' not in text.split("Rules version")[0]
    status, _ = await _post_sheet(
        console, tea, _sheet(csrf, 0, "submit", {"A": "30", "B": "20", "C": "30"},
                             minimum=every_minimum(5), knockout=["forged_dossier"])
    )  # fmt: skip
    assert status == 303
    assert (await console.post(close, {"csrf_token": csrf, "confirm": "1"})).status == 303

    # After the close: every sheet, the outcome, and nothing changes any more.
    await _as(console, "hd.minh")
    page = await _page(console, f"/console/entries/{honey}/score")
    assert "Lan Expert" in page and "Tốt" in page and "Minh Expert" in page
    # 90 and 70 → 80: 4★ by points; the trademark was met by one of two only → capped at 2★.
    assert "80.00" in page and "4★" in page and "2★" in page
    assert "Capped by the star minimums not met" in page
    assert "Scored under rules" in page and "2026.1" in page
    assert 'name="points-A1"' not in page
    assert (await console.get(f"/console/entries/{honey}/sheets/{lan.id}")).status == 200
    tea_page = await _page(console, f"/console/entries/{tea}/score")
    assert "Knocked out" in tea_page and "0★" in tea_page
    csrf = csrf_of(page)
    status, text = await _post_sheet(console, honey, _sheet(csrf, 1, "draft", {"A1": "1"}))
    assert status == 409 and "no longer being scored" in text
    council = await _page(console, f"/console/rounds/{round_id}/council")
    assert "Close the scores" not in council and re.search(r"Closed on", council)
    async with console.db.sessions() as session:
        entries = {e.id: e for e in await session.scalars(select(RoundEntry))}
        round_ = await session.get_one(Round, round_id)
        seats = (await session.scalars(select(CouncilMember))).all()
    assert entries[honey].status == EntryStatus.SCORED and entries[honey].stars == 2
    assert entries[tea].knocked_out == ["forged_dossier"] and entries[tea].stars == 0
    assert round_.scores_closed_at is not None and len(seats) == 2

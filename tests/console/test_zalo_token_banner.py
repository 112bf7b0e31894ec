"""While Zalo refuses the OA's refresh token, the console's home page tells province officials
and administrators (not commune officials, who cannot have it fixed), and ``/healthz`` says
``zalo_token: "failed since …"``; both stop once a new refresh token is set."""

from __future__ import annotations

from bot.cli_zalo import replace_refresh_token
from storage.states import OfficialRole
from storage.zalo_tokens import mark_failed, seed
from tests.console.conftest import Console

APP = "4291763606161179100"
BANNER = "ocop-bot zalo set-refresh-token"


async def home(console: Console, username: str) -> str:
    await console.sign_in_as(username)
    response = await console.get("/console/")
    assert response.status == 200
    return await response.text()


async def test_the_home_page_and_healthz_say_the_zalo_token_failed(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    await console.official("admin")
    await console.official("tinh.bn", OfficialRole.PROVINCE, [bac_ninh], locale="en")
    await console.official(
        "xa.damai", OfficialRole.COMMUNE, [await console.area("bac ninh", "Đa Mai")]
    )
    assert "zalo_token" not in await (await console.get("/healthz")).json()  # no OA set up
    async with console.db.transaction() as session:
        await seed(session, APP, "rt-1")
    assert (await (await console.get("/healthz")).json())["zalo_token"] == "ok"
    assert BANNER not in await home(console, "admin")

    failed_at = console.clock.now()
    async with console.db.transaction() as session:
        await mark_failed(session, APP, version=1, failure="-14014 Invalid refresh token",
                          now=failed_at)  # fmt: skip
    health = await (await console.get("/healthz")).json()
    assert health["zalo_token"] == f"failed since {failed_at.isoformat()}"
    page = await home(console, "tinh.bn")
    assert BANNER in page and "Zalo refuses the Official Account&#39;s token" in page
    vietnamese = await home(console, "admin")
    assert BANNER in vietnamese and "Zalo từ chối" in vietnamese
    assert BANNER not in await home(console, "xa.damai")

    await replace_refresh_token(console.db, APP, "rt-new")
    assert BANNER not in await home(console, "admin")
    assert (await (await console.get("/healthz")).json())["zalo_token"] == "ok"

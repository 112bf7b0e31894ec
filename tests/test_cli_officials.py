"""``ocop-bot officials`` as an operator runs it: add (areas by code or name), list, disable,
reset-password; passwords only from a prompt or standard input.

One test runs the real command in a subprocess; the others run the same code in this process
(``run_officials`` with the parser's arguments), which is much faster.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli_help import build_parser
from bot.cli_officials import run_officials
from bot.settings import Settings
from storage.areas import import_areas
from storage.db import Database
from storage.migrate import upgrade
from tests.test_cli import ROOT, SAMPLE, cli, sqlite_env

PASSWORD = "a long enough password"


class Operator:
    """Runs ``ocop-bot officials …`` in this process against one database."""

    def __init__(
        self, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.settings = Settings(database_url=url)
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    async def __call__(self, *args: str, stdin: str = "") -> tuple[int, str, str]:
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        parsed = build_parser().parse_args(["officials", *args])
        code = await run_officials(self.settings, parsed)
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
async def operator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Operator:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ocop.sqlite3'}"
    db = Database(url)
    try:
        await upgrade(db.engine)
        async with db.transaction() as session:
            await import_areas(session, SAMPLE)
    finally:
        await db.dispose()
    return Operator(url, monkeypatch, capsys)


def test_the_real_command_adds_and_lists(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    assert cli("areas", "import", str(SAMPLE), env=env).returncode == 0
    added = subprocess.run(
        [sys.executable, "-m", "bot.cli", "officials", "add", "Tinh.BacNinh", "--name",
         "Sở NN&PTNT Bắc Ninh", "--role", "province", "--area", "bac ninh", "--password-stdin"],
        cwd=ROOT, env={**os.environ, **env}, input=PASSWORD + "\n", capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "Added tinh.bacninh (province: Tỉnh Bắc Ninh (24))" in added.stdout
    listed = cli("officials", "list", env=env)
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[1].split("\t") == [
        "tinh.bacninh", "Sở NN&PTNT Bắc Ninh", "province", "Tỉnh Bắc Ninh (24)", "vi", "active",
    ]  # fmt: skip


async def test_add_list_disable_and_reset(operator: Operator) -> None:
    code, out, err = await operator(
        "add", "xa.damai", "--name", "UBND phường Đa Mai", "--role", "commune",
        "--province", "24", "--area", "da mai", "--area", "07246", "--locale", "en",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, err
    assert "Phường Đa Mai (07228), Xã Xuân Lương (07246)" in out
    code, out, err = await operator(
        "add", "xa.badinh", "--name", "UBND phường Ba Đình", "--role", "commune",
        "--area", "4", "--password-stdin", stdin=PASSWORD,
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = await operator("add", "Boss", "--name", "A", "--role", "admin",
                                  "--password-stdin", stdin=PASSWORD)  # fmt: skip
    assert code == 0 and "Added boss (admin: every area)" in out

    code, out, _ = await operator("list")
    lines = out.splitlines()
    assert [line.split("\t")[0] for line in lines[1:]] == ["boss", "xa.badinh", "xa.damai"]
    assert "Phường Ba Đình (00004)" in lines[2] and lines[3].endswith("en\tactive")
    assert PASSWORD not in out

    assert (await operator("disable", "XA.DAMAI"))[0] == 0
    assert (await operator("list"))[1].splitlines()[3].endswith("\tdisabled")
    code, out, _ = await operator("reset-password", "xa.badinh", "--password-stdin",
                                  stdin="x" * 12)  # fmt: skip
    assert code == 0 and "New password set for xa.badinh" in out


async def test_refusals_say_why_and_change_nothing(operator: Operator) -> None:
    base = ("--name", "X", "--password-stdin")
    cases = [
        (("add", "admin", "--role", "admin", *base), "short\n", "at least 10 characters"),
        (("add", "c1", "--role", "commune", "--area", "da mai", *base), PASSWORD, "--province"),
        (("add", "c2", "--role", "commune", "--province", "24", "--area", "xyz", *base),
         PASSWORD, "no commune 'xyz'"),
        (("add", "p1", "--role", "province", "--area", "atlantis", *base), PASSWORD,
         "no province 'atlantis'"),
        (("add", "p2", "--role", "commune", "--area", "24", *base), PASSWORD, "no commune '24'"),
        (("add", "p3", "--role", "province", "--area", "07228", *base), PASSWORD,
         "no province '07228'"),
        (("add", "admin", "--role", "admin", "--locale", "fr", *base), PASSWORD, "--locale"),
        (("add", "a b", "--role", "admin", *base), PASSWORD, "3 to 60 characters"),
        (("disable", "nobody"), "", "no official 'nobody'"),
    ]  # fmt: skip
    for args, stdin, error in cases:
        code, _, err = await operator(*args, stdin=stdin)
        assert code == 1, args
        assert "Nothing was changed" in err and error in err, err
    assert "No officials yet" in (await operator("list"))[1]

    assert (await operator("add", "Admin", "--role", "admin", *base, stdin=PASSWORD))[0] == 0
    code, _, err = await operator("add", "ADMIN", "--role", "admin", *base, stdin=PASSWORD)
    assert code == 1 and "taken" in err
    # Without a terminal and without --password-stdin, nothing is read from a pipe by surprise.
    code, _, err = await operator("add", "admin2", "--role", "admin", "--name", "X")
    assert code == 1 and "use --password-stdin" in err


def test_no_password_argument_exists() -> None:
    parser = build_parser()
    for action in ("add", "reset-password"):
        with pytest.raises(SystemExit):
            parser.parse_args(["officials", action, "someone", "--password", PASSWORD])


async def test_the_council_role_is_given_at_add_and_changed_later(operator: Operator) -> None:
    code, out, err = await operator(
        "add", "hd.lan", "--name", "Chuyên gia Lan", "--role", "admin", "--council",
        "--password-stdin", stdin=PASSWORD,
    )  # fmt: skip
    assert code == 0, err
    assert "Added hd.lan (admin: every area, council member)." in out
    await operator("add", "boss", "--name", "B", "--role", "admin", "--password-stdin",
                   stdin=PASSWORD)  # fmt: skip
    roles = [line.split("\t")[2] for line in (await operator("list"))[1].splitlines()[1:]]
    assert roles == ["admin", "admin, council"]

    assert (await operator("council", "BOSS", "on"))[1].strip() == (
        "boss may now sit on evaluation councils."
    )
    assert "already has the council role" in (await operator("council", "boss", "on"))[1]
    code, out, _ = await operator("council", "hd.lan", "off")
    assert code == 0 and "hd.lan no longer has the council role" in out
    roles = [line.split("\t")[2] for line in (await operator("list"))[1].splitlines()[1:]]
    assert roles == ["admin, council", "admin"]
    code, _, err = await operator("council", "nobody", "on")
    assert code == 1 and "no official 'nobody'" in err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["officials", "council", "boss", "maybe"])

"""The console's place among the layers: it sits beside ``handlers/`` and above ``storage/``;
only the wiring (``bot/app.py``, ``bot/cli.py``, ``bot/flows.py``) imports it, and it imports no
conversation handler."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAY_IMPORT_CONSOLE = {"bot/app.py", "bot/cli.py", "bot/flows.py"}


def imported(path: Path) -> set[str]:
    """The top-level packages a module imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def modules(*packages: str) -> list[Path]:
    return [path for package in packages for path in sorted((ROOT / package).rglob("*.py"))]


def test_only_the_wiring_imports_the_console() -> None:
    importers = {
        str(path.relative_to(ROOT))
        for path in modules("bot", "handlers", "storage")
        if "console" in imported(path)
    }
    assert importers <= MAY_IMPORT_CONSOLE
    assert "bot/app.py" in importers  # the console is mounted


def test_the_console_imports_no_handler() -> None:
    for path in modules("console"):
        assert "handlers" not in imported(path), path

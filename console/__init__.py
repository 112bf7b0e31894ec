"""The officials' console: server-rendered pages (Jinja2) on the bot's aiohttp application,
and the public certificate verify page (``/verify/<number>``, ``console/verify.py``).

Only ``bot/app.py`` (which mounts it), ``bot/cli.py`` and ``bot/flows.py`` import this package;
it reads and writes through ``storage/`` and translates through ``bot.i18n``.
"""

from console.app import ConsoleConfig, mount_console
from console.verify import mount_verify

__all__ = ["ConsoleConfig", "mount_console", "mount_verify"]

"""The channels a scenario can run on, each as a :class:`~tests.harness.Rig` (its fake server,
the real adapter and its phones); Telegram is the harness's own (no rig)."""

from __future__ import annotations

from collections.abc import Callable

from tests.harness import Rig
from tests.rigs.zalo_bot import ZaloBotRig
from tests.rigs.zalo_oa import ZaloOARig

__all__ = ["CHANNELS", "rig_for"]

# channel name → a fresh rig (None: Telegram, which every running bot has).
RIGS: dict[str, Callable[[], Rig] | None] = {
    "telegram": None,
    "zalo_oa": ZaloOARig,
    "zalo_bot": ZaloBotRig,
}
CHANNELS = tuple(RIGS)


def rig_for(channel: str) -> Rig | None:
    """A fresh rig for ``channel`` (None for Telegram)."""
    make = RIGS[channel]
    return make() if make is not None else None

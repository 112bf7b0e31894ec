"""The channels a scenario can run on, each as a :class:`~tests.harness.Rig` (its fake server,
the real adapter and its phones); Telegram is the harness's own (no rig)."""

from __future__ import annotations

from collections.abc import Callable

from storage.clock import SYSTEM_CLOCK, Clock
from tests.harness import Rig
from tests.rigs.zalo_bot import ZaloBotRig
from tests.rigs.zalo_oa import ZaloOARig

__all__ = ["CHANNELS", "rig_for"]

# channel name → a fresh rig (None: Telegram, which every running bot has).
RIGS: dict[str, Callable[[Clock], Rig] | None] = {
    "telegram": None,
    "zalo_oa": lambda clock: ZaloOARig(reply_window_hours=window_hours(clock)),
    "zalo_bot": lambda _clock: ZaloBotRig(),
}
CHANNELS = tuple(RIGS)
# A test on a ManualClock sets the engine's time (when users last wrote) in the past while the
# sender keeps the real clock, so a reply window would be measured across the two: such
# scenarios run with a window of ten years (tests/channels/test_zalo_oa*.py test the window).
TEN_YEARS = 24 * 365 * 10.0


def window_hours(clock: Clock) -> float:
    return 48.0 if clock is SYSTEM_CLOCK else TEN_YEARS


def rig_for(channel: str, clock: Clock = SYSTEM_CLOCK) -> Rig | None:
    """A fresh rig for ``channel`` (None for Telegram), for a bot on ``clock``."""
    make = RIGS[channel]
    return make(clock) if make is not None else None

"""One measured run (:class:`Row`) and how runs are printed: the table, ratios, sanity checks."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench._driver import RunResult, percentile

__all__ = ["Row", "problems", "ratios", "save", "table", "timeline"]


@dataclass
class Row:
    """One system's measurement."""

    system: str
    backend: str
    result: RunResult
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds during the run
    stats: dict[str, Any] = field(default_factory=dict)  # what the SUT said at exit
    fake: dict[str, Any] = field(default_factory=dict)  # the fake server's counters

    @property
    def name(self) -> str:
        return f"{self.system}/{self.backend}"

    def updates_per_s(self) -> float:
        return self.result.updates / self.result.seconds if self.result.seconds else 0.0

    def messages_per_s(self) -> float:
        return self.result.messages / self.result.seconds if self.result.seconds else 0.0

    def ms(self, q: float, observed: bool = False) -> float:
        values = self.result.observed if observed else self.result.latencies
        return 1000 * percentile(values, q)

    def cpu_percent(self, key: str) -> float:
        """CPU use in % of one core during the run."""
        return 100 * self.cpu.get(key, 0.0) / self.result.seconds if self.result.seconds else 0


CPU_KEYS = ("sut", "sut_main_thread", "fake", "driver", "db", "other")


def table(rows: list[Row]) -> str:
    head = (
        f"{'system':<12} {'backend':<8} {'updates':>7} {'seconds':>7} {'upd/s':>7} "
        f"{'msg/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'obs p50':>7} | "
        "CPU% sut (main) fake drv  db other"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        sut, main, fake, drv, db, other = (r.cpu_percent(k) for k in CPU_KEYS)
        lines.append(
            f"{r.system:<12} {r.backend:<8} {r.result.updates:>7} {r.result.seconds:>7.1f} "
            f"{r.updates_per_s():>7.1f} {r.messages_per_s():>7.1f} {r.ms(0.5):>7.1f} "
            f"{r.ms(0.95):>7.1f} {r.ms(0.99):>7.1f} {r.ms(0.5, observed=True):>7.1f} | "
            f"     {sut:>3.0f} ({main:>3.0f}) {fake:>4.0f} {drv:>3.0f} {db:>3.0f} {other:>5.0f}"
        )
    return "\n".join(lines)


def timeline(row: Row, buckets: int = 10) -> str:
    """Updates/s in each tenth of the run: shows whether the rate decays as tables grow."""
    times, secs = row.result.answered_at, row.result.seconds
    if not times or not secs:
        return ""
    counts = [0] * buckets
    for t in times:
        counts[min(buckets - 1, int(t / secs * buckets))] += 1
    rates = " ".join(f"{c * buckets / secs:.0f}" for c in counts)
    return f"{row.name} updates/s by tenth of the run: {rates}"


def ratios(rows: list[Row]) -> list[str]:
    """Ours against each baseline: throughput and median latency."""
    baselines = [r for r in rows if r.system != "ours" and r.updates_per_s()]
    out = []
    for ours in (r for r in rows if r.system == "ours" and r.updates_per_s()):
        for base in baselines:
            speed = ours.updates_per_s() / base.updates_per_s()
            slower = ours.ms(0.5) / base.ms(0.5)
            out.append(
                f"ours({ours.backend})/{base.system}: throughput ×{speed:.3f}, "
                f"p50 latency ×{slower:.1f}"
            )
    return out


def problems(row: Row, expected: int) -> list[str]:
    """What makes a run suspect: unanswered updates, clock trouble, stray messages …"""
    r = row.result
    out = [f"{row.name}: {e}" for e in r.errors[:5]]
    if r.updates != expected:
        out.append(f"{row.name}: {r.updates} of {expected} updates answered")
    if r.clock_violations:
        out.append(f"{row.name}: {r.clock_violations} samples outside pushed ≤ at ≤ observed")
    if r.stray:
        out.append(f"{row.name}: {r.stray} messages arrived after their update was answered")
    if row.fake.get("pending_updates"):
        out.append(f"{row.name}: {row.fake['pending_updates']} updates never fetched")
    producers = row.stats.get("producers")
    if row.system == "ours" and producers is not None and producers != r.users:
        out.append(f"{row.name}: {producers} producers registered for {r.users} users")
    if row.stats.get("exit_status") not in (0, None):
        out.append(f"{row.name}: exited with status {row.stats['exit_status']}")
    return out


def save(rows: list[Row], path: Path, meta: dict[str, Any]) -> None:
    """Everything but the raw samples, as JSON."""
    runs = []
    for r in rows:
        result = asdict(r.result) | {"latencies": None, "observed": None, "answered_at": None}
        runs.append(
            asdict(r)
            | {"result": result, "timeline": timeline(r), "upd_per_s": r.updates_per_s()}
            | {"msg_per_s": r.messages_per_s(), "p50_ms": r.ms(0.5), "p95_ms": r.ms(0.95)}
            | {"p99_ms": r.ms(0.99), "obs_p50_ms": r.ms(0.5, observed=True)}
        )
    path.write_text(json.dumps({"meta": meta, "runs": runs}, indent=1, default=str))

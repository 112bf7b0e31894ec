"""One system's measurements (:class:`Row`) and how they are printed: the tables, ratios,
issue 12's targets and sanity checks."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench._driver import RunResult, percentile

__all__ = [
    "Phase",
    "Row",
    "SqlCounts",
    "cores_line",
    "latency_table",
    "per_update",
    "per_update_table",
    "problems",
    "ratios",
    "save",
    "sql_delta",
    "sql_details",
    "sql_sum",
    "table",
    "targets",
    "timeline",
]

BASELINE = "aiogram-fsm"
ROLES = ("engine", "sender", "inbox", "other")
COUNTED = ("engine", "sender", "inbox")  # the SQL the targets count
DASH = "–"
SqlCounts = dict[str, dict[str, int]]  # role -> statements, transactions, commits, rollbacks


@dataclass
class Phase:
    """A further workload measured on the same process(es): one user, half the load."""

    result: RunResult
    cpu: dict[str, float] = field(default_factory=dict)
    sql: SqlCounts | None = None

    def ms(self, q: float) -> float:
        return 1000 * percentile(self.result.latencies, q)


@dataclass
class Row:
    """One system's measurement: the full load (``result``, ``cpu``, ``sql``) and the rest."""

    system: str
    backend: str
    result: RunResult
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds during the run
    stats: dict[str, Any] = field(default_factory=dict)  # what the SUT said at exit
    fake: dict[str, Any] = field(default_factory=dict)  # the fake server's counters
    processes: int = 1
    sql: SqlCounts | None = None  # ours: SQL during the full load, by role
    one_user: Phase | None = None
    half_load: Phase | None = None
    calls: dict[str, float] | None = None  # cProfile run: total_calls, updates
    registered: int = 0  # producers whose registration was answered, over every phase

    @property
    def label(self) -> str:
        return self.backend + (f"×{self.processes}" if self.processes > 1 else "")

    @property
    def name(self) -> str:
        return f"{self.system}/{self.label}"

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

    def cpu_ms_per_update(self) -> float:
        """The system's CPU time per update answered at full load: its process(es), plus
        PostgreSQL's server processes for a PostgreSQL backend."""
        if not self.result.updates:
            return math.nan
        seconds = self.cpu.get("sut", 0.0)
        if self.backend == "postgres":
            seconds += self.cpu.get("db", 0.0)
        return 1000 * seconds / self.result.updates

    def calls_per_update(self) -> float:
        if not self.calls or not self.calls.get("updates"):
            return math.nan
        return self.calls["total_calls"] / self.calls["updates"]

    def sql_per_update(self, kind: str, roles: tuple[str, ...] = COUNTED) -> float:
        return per_update(self.sql, kind, roles, self.result.updates)


def per_update(sql: SqlCounts | None, kind: str, roles: tuple[str, ...], updates: int) -> float:
    if sql is None or not updates:
        return math.nan
    return sum(sql.get(role, {}).get(kind, 0) for role in roles) / updates


def sql_delta(before: SqlCounts, after: SqlCounts) -> SqlCounts:
    return {
        role: {kind: n - before.get(role, {}).get(kind, 0) for kind, n in kinds.items()}
        for role, kinds in after.items()
    }


def sql_sum(counts: list[SqlCounts]) -> SqlCounts:
    total: SqlCounts = {}
    for count in counts:
        for role, kinds in count.items():
            mine = total.setdefault(role, {})
            for kind, n in kinds.items():
                mine[kind] = mine.get(kind, 0) + n
    return total


def _f(value: float, width: int, digits: int = 1) -> str:
    """A number right-aligned in ``width``, or a dash when it was not measured."""
    if value is None or math.isnan(value):
        return f"{DASH:>{width}}"
    return f"{value:>{width},.{digits}f}"


CPU_KEYS = ("sut", "sut_main_thread", "fake", "driver", "db", "other")


def table(rows: list[Row]) -> str:
    head = (
        f"{'system':<12} {'backend':<10} {'updates':>7} {'seconds':>7} {'upd/s':>7} "
        f"{'msg/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'obs p50':>7} | "
        "CPU% sut (main) fake drv  db other"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        sut, main, fake, drv, db, other = (r.cpu_percent(k) for k in CPU_KEYS)
        lines.append(
            f"{r.system:<12} {r.label:<10} {r.result.updates:>7} {r.result.seconds:>7.1f} "
            f"{r.updates_per_s():>7.1f} {r.messages_per_s():>7.1f} {r.ms(0.5):>7.1f} "
            f"{r.ms(0.95):>7.1f} {r.ms(0.99):>7.1f} {r.ms(0.5, observed=True):>7.1f} | "
            f"     {sut:>3.0f} ({main:>3.0f}) {fake:>4.0f} {drv:>3.0f} {db:>3.0f} {other:>5.0f}"
        )
    return "\n".join(lines)


def per_update_table(rows: list[Row]) -> str:
    """CPU, Python calls, SQL statements and commits per update, at full load."""
    head = (
        f"{'per update (full load)':<24} {'CPU ms':>7} {'calls':>7} {'SQL':>6} {'commits':>7} | "
        f"{'SQL: engine':>11} {'sender':>6} {'inbox':>6} {'other':>6} | "
        f"{'commits: engine':>15} {'sender':>6} {'inbox':>6} {'other':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        kinds = ("statements", "commits")
        by = [r.sql_per_update(kind, (role,)) for kind in kinds for role in ROLES]
        statements, commits = (r.sql_per_update(kind) for kind in kinds)
        lines.append(
            f"{r.name:<24} {_f(r.cpu_ms_per_update(), 7, 2)} {_f(r.calls_per_update(), 7, 0)} "
            f"{_f(statements, 6, 2)} {_f(commits, 7, 3)} | "
            f"{_f(by[0], 11, 2)} {_f(by[1], 6, 2)} {_f(by[2], 6, 2)} {_f(by[3], 6, 2)} | "
            f"{_f(by[4], 15, 3)} {_f(by[5], 6, 3)} {_f(by[6], 6, 3)} {_f(by[7], 6, 3)}"
        )
    return "\n".join(lines)


def latency_table(rows: list[Row]) -> str:
    """Reply latency at full load, with one user, and at half the full load's rate."""
    head = (
        f"{'latency ms':<24} {'load p50':>8} {'p95':>6} {'p99':>6} | "
        f"{'1 user: n':>9} {'p50':>6} {'p99':>6} | "
        f"{'half load: upd/s':>16} {'pushed/s':>8} {'n':>5} {'p50':>6} {'p95':>6} {'p99':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        one, half = r.one_user, r.half_load
        pushed = (
            half.result.sent / half.result.arrival_seconds
            if half and half.result.arrival_seconds
            else math.nan
        )
        lines.append(
            f"{r.name:<24} {_f(r.ms(0.5), 8)} {_f(r.ms(0.95), 6)} {_f(r.ms(0.99), 6)} | "
            f"{one.result.updates if one else DASH:>9} "
            f"{_f(one.ms(0.5) if one else math.nan, 6)} "
            f"{_f(one.ms(0.99) if one else math.nan, 6)} | "
            f"{_f(half.result.offered_rate if half else math.nan, 16)} {_f(pushed, 8)} "
            f"{half.result.updates if half else DASH:>5} "
            + " ".join(_f(half.ms(q) if half else math.nan, 6) for q in (0.5, 0.95, 0.99))
        )
    return "\n".join(lines)


def sql_details(row: Row) -> str:
    """Every SQL count of ``row`` per update, by role: at full load and with one user."""
    out = []
    phases = [("full load", row.sql, row.result.updates)]
    if row.one_user:
        phases.append(("1 user", row.one_user.sql, row.one_user.result.updates))
    for label, sql, updates in phases:
        if sql is None or not updates:
            continue
        parts = []
        for role in ROLES:
            counts = sql.get(role, {})
            if any(counts.values()):
                kinds = " ".join(f"{k} {n / updates:.2f}" for k, n in counts.items())
                parts.append(f"{role}: {kinds}")
        out.append(f"{row.name} SQL per update, {label}: " + "; ".join(parts or ["none"]))
    return "\n".join(out)


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


def _times(a: float, b: float) -> str:
    return f"×{a / b:.2f}" if b and not math.isnan(a) and not math.isnan(b) else DASH


def ratios(rows: list[Row]) -> list[str]:
    """Each system against each baseline (in-memory bot) measured before it: throughput,
    CPU and Python calls per update, median latency."""
    baselines = [r for r in rows if r.system != "ours" and r.updates_per_s()]
    out = []
    for row in rows:
        for base in baselines:
            if base is row or rows.index(base) > rows.index(row) or not row.updates_per_s():
                continue
            out.append(
                f"{row.name} / {base.system}: throughput "
                f"{_times(row.updates_per_s(), base.updates_per_s())}, CPU per update "
                f"{_times(row.cpu_ms_per_update(), base.cpu_ms_per_update())}, Python calls per "
                f"update {_times(row.calls_per_update(), base.calls_per_update())}, p50 latency "
                f"{_times(row.ms(0.5), base.ms(0.5))}"
            )
    return out


def cores_line(row: Row, cores: int) -> str:
    """How much of the machine ``row``'s system used during its full load."""
    secs = row.result.seconds or math.nan
    sut, db = row.cpu.get("sut", 0.0) / secs, row.cpu.get("db", 0.0) / secs
    rest = (row.cpu.get("fake", 0.0) + row.cpu.get("driver", 0.0)) / secs
    return (
        f"{row.name}: {row.processes} processes on a machine with {cores} cores; they used "
        f"{sut + db:.2f} cores (the bot's processes {sut:.2f}, PostgreSQL {db:.2f}), the fake "
        f"server and the driver {rest:.2f}"
    )


def _verdict(name: str, what: str, value: float, limit: float, at_least: bool = False,
             shown: str = "{:.2f}") -> str:  # fmt: skip
    """One target's line: met or missed with the value, or n/a when it was not measured."""
    if math.isnan(value) or math.isnan(limit):
        return f"  n/a     {name}: {what}: not measured"
    met = value >= limit if at_least else value <= limit
    return f"  {'met' if met else 'missed':<7} {name}: {what}: {shown.format(value)}"


def targets(rows: list[Row]) -> list[str]:
    """Issue 12's targets for each of our rows: met, missed, or n/a (not measured)."""
    base = next((r for r in rows if r.system == BASELINE and r.updates_per_s()), None)
    out = []
    for r in (r for r in rows if r.system == "ours"):
        name = r.name
        if base is None:
            out.append(f"  n/a     {name}: no {BASELINE} row in this run: ratios not checked")
        else:
            if r.processes == 1:  # more processes are held to one process's rate (below)
                want = {"sqlite": 1.2, "postgres": 1.0}.get(r.backend, math.nan)
                speed = r.updates_per_s() / base.updates_per_s()
                what = f"throughput ≥ {want}× {BASELINE}"
                out.append(_verdict(name, what, speed, want, at_least=True, shown="×{:.2f}"))
            cpu, calls = base.cpu_ms_per_update(), base.calls_per_update()
            what = f"CPU ms per update ≤ {BASELINE}'s {cpu:.2f}"
            out.append(_verdict(name, what, r.cpu_ms_per_update(), cpu))
            what = f"Python calls per update ≤ {BASELINE}'s {calls:,.0f}"
            out.append(_verdict(name, what, r.calls_per_update(), calls, shown="{:,.0f}"))
        if r.processes > 1:
            one = next((o for o in rows if o.system == "ours" and o.backend == r.backend
                        and o.processes == 1 and o.updates_per_s()), None)  # fmt: skip
            speed = r.updates_per_s() / one.updates_per_s() if one else math.nan
            what = "throughput ≥ 1.6× one process"
            out.append(_verdict(name, what, speed, 1.6, at_least=True, shown="×{:.2f}"))
        what = "SQL statements per update ≤ 2 (engine + sender + inbox)"
        out.append(_verdict(name, what, r.sql_per_update("statements"), 2))
        what = "commits per update ≤ 0.15 (engine + sender + inbox)"
        out.append(_verdict(name, what, r.sql_per_update("commits"), 0.15, shown="{:.3f}"))
        one, half, ms = r.one_user, r.half_load, "{:.1f} ms"
        nan = math.nan
        out.append(_verdict(name, "one user p50 ≤ 5 ms", one.ms(0.5) if one else nan, 5, shown=ms))
        out.append(_verdict(name, "one user p99 ≤ 20 ms", one.ms(0.99) if one else nan, 20,
                            shown=ms))  # fmt: skip
        out.append(_verdict(name, "half load p99 ≤ 50 ms", half.ms(0.99) if half else nan, 50,
                            shown=ms))  # fmt: skip
    return out


def problems(row: Row, expected: int) -> list[str]:
    """What makes a run suspect: unanswered updates, clock trouble, stray messages …"""
    out = []
    phases = [("", row.result, expected)]
    if row.one_user:
        phases.append((" (1 user)", row.one_user.result, row.one_user.result.sent))
    if row.half_load:
        phases.append((" (half load)", row.half_load.result, row.half_load.result.sent))
    for phase, r, wanted in phases:
        out += [f"{row.name}{phase}: {e}" for e in r.errors[:5]]
        if r.updates != wanted:
            out.append(f"{row.name}{phase}: {r.updates} of {wanted} updates answered")
        if r.clock_violations:
            out.append(
                f"{row.name}{phase}: {r.clock_violations} samples outside pushed ≤ at ≤ observed"
            )
        if r.stray:
            out.append(f"{row.name}{phase}: {r.stray} messages arrived after their answer")
    if row.half_load and row.half_load.result.sent < 0.9 * row.half_load.result.offered_rate * (
        row.half_load.result.arrival_seconds or math.inf
    ):
        out.append(f"{row.name} (half load): the driver could not push at the rate asked for")
    if row.fake.get("pending_updates"):
        out.append(f"{row.name}: {row.fake['pending_updates']} updates never fetched")
    producers = row.stats.get("producers")
    if row.system == "ours" and producers is not None and producers != row.registered:
        out.append(f"{row.name}: {producers} producers registered, {row.registered} expected")
    for status in row.stats.get("exit_statuses", [row.stats.get("exit_status")]):
        if status not in (0, None):
            out.append(f"{row.name}: a process exited with status {status}")
    return out


def _phase_json(phase: Phase | None) -> dict[str, Any] | None:
    if phase is None:
        return None
    result = asdict(phase.result) | {"latencies": None, "observed": None, "answered_at": None}
    q = {f"p{round(100 * q)}_ms": phase.ms(q) for q in (0.5, 0.95, 0.99)}
    return {"result": result, "cpu": phase.cpu, "sql": phase.sql} | q


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
            | {"cpu_ms_per_update": r.cpu_ms_per_update()}
            | {"calls_per_update": r.calls_per_update()}
            | {"sql_per_update": r.sql_per_update("statements")}
            | {"commits_per_update": r.sql_per_update("commits")}
            | {"one_user": _phase_json(r.one_user), "half_load": _phase_json(r.half_load)}
        )
    path.write_text(json.dumps({"meta": meta, "runs": runs}, indent=1, default=str))

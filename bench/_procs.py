"""Child processes that are always stopped, and CPU accounting from Linux's /proc.

:class:`Child` starts a process in its own session (a terminal's Ctrl-C reaches only the
benchmark, which then stops its children in order) that is also killed by the kernel if the
benchmark dies (``PR_SET_PDEATHSIG``). :func:`cpu_snapshot` reads the CPU time of the processes
that take part in a run, of PostgreSQL's processes and of the whole machine, so that the load
of anything else running on the machine is visible next to each result.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

__all__ = [
    "Child",
    "cpu_delta",
    "cpu_snapshot",
    "exclusive",
    "git_revision",
    "log",
    "wait_until_idle",
]

TICK = os.sysconf("SC_CLK_TCK")


def log(text: str) -> None:
    """Progress goes to stderr; results go to stdout."""
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


@contextlib.asynccontextmanager
async def exclusive(lock_file: Path, max_wait: float) -> AsyncIterator[None]:
    """Hold an exclusive lock on ``lock_file``: benchmark runs on one machine must not overlap
    (they would share CPU, the PostgreSQL database and the working files). Waits at most
    ``max_wait`` s for a running benchmark to finish."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a+") as handle:
        deadline = time.monotonic() + max_wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    raise TimeoutError(
                        f"another benchmark holds {lock_file}: {handle.read()}"
                    ) from None
                log("another benchmark is running; waiting for it to finish")
                await asyncio.sleep(5)
        handle.truncate(0)
        handle.write(f"pid {os.getpid()}: {' '.join(sys.argv)}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def git_revision(root: Path) -> str:
    """The commit measured, with ``+dirty`` when code outside bench/ has local changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", ".", ":!bench"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout
    except OSError:
        return "unknown"
    return (head or "unknown") + ("+dirty" if status.strip() else "")


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Child:
    """A child process: stdout read line by line, stderr into a log file."""

    def __init__(self, name: str, argv: list[str], log_file: Path, cwd: Path) -> None:
        self.name, self.argv, self.log_file, self.cwd = name, argv, log_file, cwd
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._new_line = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("wb") as errors:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                cwd=self.cwd,
                stdout=asyncio.subprocess.PIPE,
                stderr=errors,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self._new_line.set()
        self._new_line.set()

    async def wait_line(self, prefix: str, timeout: float, start: int = 0) -> str:
        """The first stdout line from line ``start`` on starting with ``prefix``; error if it
        exits or times out."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines[start:]:
                if line.startswith(prefix):
                    return line
            if self.proc.returncode is not None or (self._reader and self._reader.done()):
                raise RuntimeError(f"{self.name} exited; see {self.log_file}")
            if (left := deadline - time.monotonic()) <= 0:
                raise TimeoutError(f"{self.name}: no {prefix!r} in {timeout:.0f} s")
            self._new_line.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_line.wait(), left)

    async def ask(self, sig: signal.Signals, prefix: str, timeout: float = 30.0) -> str:
        """Send ``sig`` and return the next stdout line starting with ``prefix`` (the process's
        answer to it)."""
        start = len(self.lines)
        assert self.proc is not None
        self.proc.send_signal(sig)
        return await self.wait_line(prefix, timeout, start)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` s; returns the exit status."""
        proc = self.proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                log(f"{self.name} did not stop in {timeout:.0f} s; killing it")
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await asyncio.wait_for(proc.wait(), 10)
        if self._reader is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 5)
        return proc.returncode


# -- CPU --------------------------------------------------------------------------------------
def _stat_cpu(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _threads(pid: int) -> tuple[float, float]:
    """CPU time of ``pid``'s main thread, and of its other live threads."""
    main = other = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            if task.name == str(pid):
                main = _stat_cpu(task / "stat")
            else:
                other += _stat_cpu(task / "stat")
    return main, other


_CLIENT = re.compile(r"^\S+ (\S+) (?:\[local\]|\S+\(\d+\))(?: |$)")  # user db host(port)
_AUTOVACUUM = re.compile(r"^autovacuum worker (\S+)")


def _postgres_database(title: str) -> str | None:
    """The database a PostgreSQL process works for, from its title (``postgres: 15/main:
    postgres ocop_bench 127.0.0.1(38624) idle``); None for the server's shared processes."""
    title = title.removeprefix("postgres: ")
    head, sep, rest = title.partition(": ")  # the cluster's name, when it has one
    if sep and " " not in head:
        title = rest
    found = _CLIENT.match(title) or _AUTOVACUUM.match(title)
    return found.group(1) if found else None


def _postgres(database: str | None = None) -> float:
    """CPU time of the PostgreSQL server's live processes (0 when there are none); with
    ``database``, leaving out the connections to (and autovacuum of) other databases, which
    other people's tests may be using meanwhile."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if (proc / "comm").read_text().strip() != "postgres":
                    continue
                if database is not None:
                    title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    if _postgres_database(title.strip()) not in (None, database):
                        continue
                total += _stat_cpu(proc / "stat")
    return total


def _machine() -> float:
    """Busy time of all cores together (everything but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICK


def cpu_snapshot(
    sut: int | Sequence[int], fake: int, database: str | None = None
) -> dict[str, float]:
    """CPU seconds so far: SUT (all threads; its main thread; the sum over several SUT
    processes), fake, driver, PostgreSQL (only ``database``'s connections when given), all."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    pids = [sut] if isinstance(sut, int) else list(sut)
    return {
        "sut": sum(_stat_cpu(Path(f"/proc/{pid}/stat")) for pid in pids),
        "sut_main_thread": sum(_threads(pid)[0] for pid in pids),
        "fake": _stat_cpu(Path(f"/proc/{fake}/stat")),
        "driver": usage.ru_utime + usage.ru_stime,
        "db": _postgres(database),
        "machine": _machine(),
    }


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds spent between two snapshots; ``other`` = the machine minus the rest."""
    delta = {key: after[key] - before[key] for key in before}
    ours = delta["sut"] + delta["fake"] + delta["driver"] + delta["db"]
    delta["other"] = max(0.0, delta["machine"] - ours)
    return delta


async def wait_until_idle(max_wait: float, cores: float = 0.2) -> float:
    """Wait (at most ``max_wait`` s) until the machine is busy less than ``cores`` over 2 s;
    returns the last measured load in cores."""
    deadline = time.monotonic() + max_wait
    while True:
        start = _machine()
        await asyncio.sleep(2)
        load = (_machine() - start) / 2
        if load < cores or time.monotonic() >= deadline:
            return load
        log(f"the machine is busy ({load:.2f} cores); waiting for it to calm down")

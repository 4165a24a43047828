"""Running writer processes (`keyed_writers`) in lock-step rounds, and what their races left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROUND_TIMEOUT_SECONDS = 180.0


@dataclass(frozen=True)
class RaceResult:
    rounds: int
    writers: int
    conflicts_retried: int  # lines "retrying" the writers logged


def race(folder: Path, commands: list[list[str]], rounds: int) -> RaceResult:
    """Start a `keyed_writers` process per command, start each round in all of them at once
    and wait for every writer to finish it; a writer that fails fails the race with its log."""
    signals = folder / "signals"
    signals.mkdir(parents=True)
    logs = [folder / f"writer-{i}.log" for i in range(len(commands))]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "continual_ml_tests.support.keyed_writers", command[0]]
            + [str(signals), str(rounds), *command[1:]],
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
            start_new_session=True,
        )
        for command, log in zip(commands, logs, strict=True)
    ]
    try:
        for r in range(rounds):
            (signals / f"go-{r}").touch()
            deadline = time.monotonic() + ROUND_TIMEOUT_SECONDS
            while len(list(signals.glob(f"done-{r}-*"))) < len(processes):
                failed = [i for i, p in enumerate(processes) if p.poll() not in (None, 0)]
                if failed or time.monotonic() > deadline:
                    tails = {i: logs[i].read_text()[-3000:] for i in range(len(logs))}
                    raise AssertionError(f"round {r}: writers {failed} failed or late: {tails}")
                time.sleep(0.02)
        for process in processes:
            process.wait(timeout=60)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    retried = sum(log.read_text().count("retrying") for log in logs)
    return RaceResult(rounds, len(processes), retried)


def duplicate_keys(conn, table: str, key: tuple[str, ...]) -> int:
    """How many keys of `table` have more than one row."""
    columns = ", ".join(key)
    return conn.execute(
        f"SELECT count(*) FROM (SELECT {columns} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
    ).fetchone()[0]

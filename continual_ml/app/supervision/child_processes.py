"""Child processes that end with the process that started them, even when it is killed.

`Child` runs one server of the live system in a session of its own; restarting it may keep its
grandchildren (the code server's run workers) alive until the live system stops.

`with_parent(command)` prefixes a command with this module: it asks Linux to send it SIGTERM
when its parent dies (`PR_SET_PDEATHSIG`, which survives exec) and then execs the command in
its place. `up`, the demo and the tests stop their servers themselves; this covers the parent
being killed with SIGKILL, which no handler sees. It is a launcher rather than a `preexec_fn`
because the parent may have threads, and forking with threads allows only exec in the child.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

from continual_ml.app.supervision import process_table

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def with_parent(command: list[str]) -> list[str]:
    """`command`, ended with SIGTERM when this process dies (unchanged outside Linux)."""
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-m", __name__, str(os.getpid()), *command]


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and _parent_pid(entry) == pid:
                children.append(int(entry.name))
        except OSError:
            continue
    return children


def _parent_pid(proc_entry: Path) -> int:
    # The command name in /proc/PID/stat may hold spaces and parentheses: split after the last ).
    return int((proc_entry / "stat").read_text().rsplit(")", 1)[1].split()[1])


class Child:
    """One command in a session of its own, so stopping it stops everything it spawned; it gets
    SIGTERM if the process that started it dies without stopping it."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path):
        self.name, self.command, self.env = name, command, env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None
        # Sessions of earlier processes, which may still hold run workers: ended by `stop`.
        self.abandoned_groups: list[int] = []

    def start(self) -> Child:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                with_parent(self.command),
                env=self.env,
                cwd=Path(__file__).resolve().parents[3],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stopped(self) -> bool:
        """Alive but stopped (SIGSTOP, a debugger): it runs none of its code."""
        return self.alive() and process_table.stopped(self.process.pid)

    def stop(self, grace_seconds: float = 20.0) -> None:
        if self.alive():
            # SIGCONT after SIGTERM: a stopped (hung) process only acts on its SIGTERM once
            # it runs again; SIGKILL needs no such help.
            for sig in (signal.SIGTERM, signal.SIGCONT):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # Children that outlived their parent (a run worker, say) go with their group.
        groups = [self.process.pid] if self.process else []
        for group in groups + self.abandoned_groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.abandoned_groups = []

    def restart(self, keep_descendants: bool = False) -> None:
        """Start the command again. With `keep_descendants`, only the process and its direct
        children are killed: the code server's run workers (its grandchildren) finish their
        runs instead of dying with the server that launched them."""
        if self.process is not None and keep_descendants:
            pid = self.process.pid
            for victim in [pid, *_children_of(pid)]:
                try:
                    os.kill(victim, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.process.wait()
            self.abandoned_groups.append(pid)
        else:
            self.stop(grace_seconds=10.0)
        self.start()

    def tail(self, n: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


def main(argv: list[str]) -> None:
    parent, command = int(argv[0]), argv[1:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the request took hold
        sys.exit(1)
    # An ignored signal stays ignored across fork and exec: a parent that ignores SIGTERM (a
    # shell's background job, a test runner some library changed) would make the request moot.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])

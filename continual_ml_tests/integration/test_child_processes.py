"""Servers started by continual-ml end when the process that started them is killed outright."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from continual_ml.app.supervision import process_table

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")


def running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may be slow to reap orphans)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def killed_parent(tmp_path, start_child: str) -> list[int]:
    """Run `start_child` in a parent process, SIGKILL the parent, and return the pids of the
    child it started and of all the child's descendants."""
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys, time
            from pathlib import Path
            {start}
            print(child.process.pid, flush=True)
            time.sleep(300)
            """
        ).format(start=textwrap.dedent(start_child)),
    )
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        pid = int(parent.stdout.readline())
        tree = descendants(pid)
        assert all(running(p) for p in tree)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    return tree


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):  # gone meanwhile (ENOENT or ESRCH)
        return None


def descendants(root: int) -> list[int]:
    """`root` and every process below it (a server's workers may be in sessions of their own)."""
    parents = {int(n): _parent(int(n)) for n in os.listdir("/proc") if n.isdigit()}
    tree, grew = {root}, True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in tree}
        grew = not below <= tree
        tree |= below
    return sorted(tree)


def gone_within(pids: list[int], seconds: float) -> list[int]:
    """The `pids` still running after `seconds`; a pid that now names a process started since
    (reused, on a busy machine) counts as gone."""
    started = {p: process_table.started_at(p) for p in pids}

    def still(p: int) -> bool:
        return running(p) and process_table.started_at(p) == started[p]

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(still(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if still(p)]


def survivors(pids: list[int]) -> list[str]:
    """`pids` with what says why they live on: state, parent, ignored signals, command."""
    described = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone while being described
        keep = [line for line in status if line.startswith(("State", "PPid", "SigIgn"))]
        described.append(f"{pid}: {' '.join(keep)} {command[:120]}")
    return described


@pytest.mark.parametrize("parent_ignores_sigterm", [False, True])
def test_a_live_system_child_dies_with_its_killed_parent(tmp_path, parent_ignores_sigterm):
    # A parent that ignores SIGTERM passes that on to what it starts: the child must not keep it.
    ignore = "signal.signal(signal.SIGTERM, signal.SIG_IGN)" if parent_ignores_sigterm else ""
    tree = killed_parent(
        tmp_path,
        f"""
        import signal
        {ignore}
        from continual_ml.app.supervision.live_system import Child
        command = [sys.executable, "-c", "import time; time.sleep(300)"]
        child = Child("sleeper", command, dict(os.environ), Path("logs")).start()
        cmdline = Path(f"/proc/{{child.process.pid}}/cmdline")
        while cmdline.read_bytes().split(b"\\0")[1:2] != [b"-c"]:  # the launcher (-m) exec'd
            time.sleep(0.05)
        """,
    )
    assert survivors(gone_within(tree, 30)) == []


def test_the_bentoml_service_and_its_workers_die_with_their_killed_parent(tmp_path):
    tree = killed_parent(
        tmp_path,
        f"""
        from continual_ml.app.supervision.service_process import ServiceProcess
        root = Path({str(tmp_path)!r})
        child = ServiceProcess(root / "bentoml", root / "service.log", root / "logs")
        child.start(wait_ready=False)  # no model to serve, so it never gets ready
        import httpx
        for _ in range(600):  # until it answers, which is once its worker is up
            try:
                if httpx.get(child.url + "/livez", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        """,
    )
    assert len(tree) >= 2  # the arbiter and at least one worker
    assert gone_within(tree, 30) == []


def test_every_process_a_killed_up_started_ends_grandchildren_and_stopped_ones_too(tmp_path):
    """What PR_SET_PDEATHSIG misses: a plain child that ignores SIGTERM, and its child in a
    session of its own, stopped (SIGSTOP). The reaper `up` starts ends both."""
    grandchild = "import time; time.sleep(300)"
    script = (
        "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"subprocess.Popen([sys.executable, '-c', {grandchild!r}], start_new_session=True); "
        "time.sleep(300)"
    )
    tree = killed_parent(
        tmp_path,
        f"""
        import signal, subprocess
        from types import SimpleNamespace
        from continual_ml.app.supervision.orphan_reaper import mark_this_process, start_reaper
        start_reaper(mark_this_process(), grace_seconds=3)
        process = subprocess.Popen([sys.executable, "-c", {script!r}], start_new_session=True)
        child = SimpleNamespace(process=process)
        def below(pid):
            for entry in Path("/proc").iterdir():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                if entry.name.isdigit() and int(fields[1]) == pid:
                    return int(entry.name)
        for _ in range(600):
            if below(process.pid):
                break
            time.sleep(0.05)
        os.kill(below(process.pid), signal.SIGSTOP)
        """,
    )
    assert len(tree) == 2
    assert gone_within(tree, 30) == []

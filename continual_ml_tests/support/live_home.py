"""`continual-ml up` as the live tests drive it: the command, the processes that carry a home's
environment, and a bounded wait that shows what `up` printed when it fails."""

import os
import sys
import time
from pathlib import Path

CLI = str(Path(sys.executable).parent / "continual-ml")


def up_environment(home: Path, **settings: str) -> dict[str, str]:
    """The environment `up` runs in for a test: this one's, without the caller's Dagster,
    BentoML and MLflow homes, pointed at `home`, with `settings` on top."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DAGSTER_HOME", "BENTOML_HOME", "MLFLOW_TRACKING_URI"}
    }
    return {**env, "CONTINUAL_ML_HOME": str(home), **settings}


def processes_of(home: Path) -> list[int]:
    """Processes whose environment points at this home: what `up` started and their children."""
    marker = f"CONTINUAL_ML_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_for(condition, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    raise AssertionError(f"{what} not seen in {timeout}s; `up` printed:\n{log.read_text()[-3000:]}")

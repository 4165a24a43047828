"""A results file's stamp names the commit, the lock file and the machine it came from (it asks
git, a process: hence integration)."""

import hashlib
import subprocess

from benchmarks.stamp import ROOT, stamp


def test_the_stamp_names_the_commit_the_lock_and_the_machine():
    stamped = stamp()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    assert stamped["commit"] == head.stdout.strip()
    assert isinstance(stamped["dirty"], bool)
    assert stamped["uv_lock_sha256"] == hashlib.sha256((ROOT / "uv.lock").read_bytes()).hexdigest()
    machine = stamped["machine"]
    assert machine["nproc"] >= 1 and len(machine["load_average"]) == 3
    assert machine["platform"] and machine["python"] and machine["cpu_model"]

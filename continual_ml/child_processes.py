"""Child processes that end with the process that started them, even when it is killed.

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
import sys

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def with_parent(command: list[str]) -> list[str]:
    """`command`, ended with SIGTERM when this process dies (unchanged outside Linux)."""
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-m", __name__, str(os.getpid()), *command]


def main(argv: list[str]) -> None:
    parent, command = int(argv[0]), argv[1:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the request took hold
        sys.exit(1)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])

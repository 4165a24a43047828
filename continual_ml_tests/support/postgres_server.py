"""A throwaway Postgres server on 127.0.0.1 from the binaries the `pgserver` wheel ships.

It stands in for the compose file's `postgres` service when the deployment is tested natively
(`continual_ml_tests/integration/test_production_profile.py`): a fresh cluster, password
authentication over TCP like the containers use, and no Unix socket, so nothing is written
outside its own folder.

Postgres refuses to run as root. Under root the cluster goes in a temporary folder owned by
`nobody`, and `initdb` and `postgres` run as that user. When `nobody` cannot reach the binaries
where they are installed (a virtualenv under a private folder such as /root), a copy goes in the
temporary folder too, rather than opening up the folders above the virtualenv.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

UNPRIVILEGED_USER = "nobody"


@dataclass
class PostgresServer:
    """A running server: where it listens, who may log in, and its process."""

    port: int
    user: str
    password: str
    root: Path
    process: subprocess.Popen
    host: str = "127.0.0.1"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        import psycopg2

        return psycopg2.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=database
        )

    def create_database(self, name: str) -> None:
        connection = self.connect()
        try:
            # CREATE DATABASE cannot run inside a transaction block.
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()

    def stop(self, timeout_seconds: float = 15.0) -> None:
        """Fast shutdown (SIGINT), a kill if that hangs, then remove the cluster."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout_seconds)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def pgserver_install() -> Path:
    """The `pginstall` folder (bin/, lib/, share/) inside the installed `pgserver` package."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pgserver is not installed: run `make setup` (it is a dev dependency)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _runnable_by(install: Path, account: pwd.struct_passwd) -> bool:
    try:
        probe = subprocess.run(
            [str(install / "bin" / "postgres"), "--version"],
            capture_output=True,
            timeout=30,
            **_run_as(account),
        )
    except OSError:  # the exec itself was refused
        return False
    return probe.returncode == 0


def _stage_binaries(install: Path, root: Path) -> Path:
    """Copy the binaries where `nobody` can read them, keeping the wheel's relative layout."""
    site_packages = install.parents[1]
    staged = root / "pgserver" / "pginstall"
    shutil.copytree(install, staged, symlinks=True)
    # initdb and psql find libpq in `pgserver.libs` beside the package (their RPATH is relative).
    libs = site_packages / "pgserver.libs"
    if libs.is_dir():
        shutil.copytree(libs, root / "pgserver.libs", symlinks=True)
    return staged


def _run_as(account: pwd.struct_passwd | None) -> dict:
    if account is None:
        return {}
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _chown_tree(path: Path, account: pwd.struct_passwd) -> None:
    os.chown(path, account.pw_uid, account.pw_gid)
    for parent, folders, files in os.walk(path):
        for name in folders + files:
            os.chown(
                os.path.join(parent, name), account.pw_uid, account.pw_gid, follow_symlinks=False
            )


def start_postgres(
    port: int,
    log_path: Path,
    user: str = "postgres",
    password: str = "postgres",
    timeout_seconds: float = 30.0,
) -> PostgresServer:
    """Initialise a cluster in a new temporary folder and start it; returns once it accepts logins.

    The server's output goes to `log_path`, which the caller keeps after `stop()`.
    """
    account = pwd.getpwnam(UNPRIVILEGED_USER) if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="continual-ml-postgres-"))
    install = pgserver_install()
    try:
        if account is not None and not _runnable_by(install, account):
            install = _stage_binaries(install, root)
        data = root / "data"
        data.mkdir()
        password_file = root / "password"
        password_file.write_text(password + "\n")
        if account is not None:
            _chown_tree(root, account)
        with log_path.open("ab") as log:
            subprocess.run(
                [
                    str(install / "bin" / "initdb"),
                    f"--pgdata={data}",
                    f"--username={user}",
                    f"--pwfile={password_file}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    # A test cluster: no fsync at creation (nor below, at run time).
                    "--no-sync",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=root,
                check=True,
                timeout=timeout_seconds,
                **_run_as(account),
            )
            process = subprocess.Popen(
                [
                    str(install / "bin" / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "unix_socket_directories=",
                    "-c",
                    "fsync=off",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=root,
                start_new_session=True,
                **_run_as(account),
            )
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    server = PostgresServer(port=port, user=user, password=password, root=root, process=process)
    try:
        _wait_until_accepting(server, log_path, timeout_seconds)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_accepting(server: PostgresServer, log_path: Path, timeout_seconds: float) -> None:
    import psycopg2

    deadline = time.monotonic() + timeout_seconds
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"postgres exited early:\n{log_path.read_text()[-3000:]}")
        try:
            server.connect().close()
            return
        except psycopg2.OperationalError as error:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"postgres not accepting logins after {timeout_seconds:.0f} s ({error}):\n"
                    f"{log_path.read_text()[-3000:]}"
                ) from error
            time.sleep(0.2)


@contextmanager
def running_postgres(port: int, log_path: Path, **settings) -> Iterator[PostgresServer]:
    """`start_postgres` as a context manager that always stops the server."""
    server = start_postgres(port, log_path, **settings)
    try:
        yield server
    finally:
        server.stop()

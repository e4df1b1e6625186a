"""A real PostgreSQL server for the store tests, started in a temporary folder on a free port.

Uses Debian's `postgresql` package (`scripts/ensure_postgres.sh` installs it). As root (CI), the
server runs as the `postgres` user, which PostgreSQL requires. Each test gets a new database.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT_S = 60


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    folder: Path
    port: int
    bin_dir: Path
    user: str = "nbmb"
    options: str = ""
    _names: Iterator[int] = field(default_factory=itertools.count)

    @property
    def admin_url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = f"nbmb_test_{next(self._names)}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"

    def pg_ctl(self, *args: str) -> None:
        _as_postgres([str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), *args])

    def stop(self) -> None:
        """Stop the server now (clients are cut off), as a crash or maintenance would."""
        self.pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        log = str(self.folder / "server.log")
        self.pg_ctl("-l", log, "-o", self.options, "-w", "-t", str(START_TIMEOUT_S), "start")


def _as_postgres(command: list[str]) -> subprocess.CompletedProcess[str]:
    # PostgreSQL refuses to run as root.
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(
        command, check=True, capture_output=True, text=True, timeout=START_TIMEOUT_S
    )


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer]:
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: run scripts/ensure_postgres.sh")
    folder = Path(tempfile.mkdtemp(prefix="nbmb-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    server = PostgresServer(folder, _free_port(), bin_dir)
    log = folder / "server.log"
    try:
        _as_postgres(
            [str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", server.user,
             "--auth=trust", "-E", "UTF8", "--no-sync"]
        )  # fmt: skip
        server.options = (
            f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        server.start()
    except subprocess.CalledProcessError as error:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(
            f"PostgreSQL did not start: {error.stderr or error.stdout}\n{tail}"
        ) from error
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.pg_ctl("-w", "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)

"""Private PostgreSQL servers for tests that stop, kill or promote them: a primary and a
streaming replica on ports of their own, in a temporary directory, run as the `postgres` user
with initdb and pg_ctl. Never the machine's own server (5432), which other tests use."""

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*args: str | Path) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)], check=True, capture_output=True, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    data: Path
    port: int

    def start(self) -> None:
        log = self.data.parent / f"{self.data.name}.log"
        _as_postgres(BIN / "pg_ctl", "-D", self.data, "-l", log, "-w", "-o", f"-p {self.port} -k /tmp", "start")

    def stop(self, mode: str = "fast") -> None:
        _as_postgres(BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def promote(self) -> None:
        _as_postgres(BIN / "pg_ctl", "-D", self.data, "-w", "promote")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


class ReplicatedPostgres:
    """A primary with one synchronous streaming replica: a commit returns only once the replica has it."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="lrs-pg-"))
        shutil.chown(self.root, "postgres", "postgres")
        self.primary = Server(self.root / "primary", free_port())
        self.replica = Server(self.root / "replica", free_port())

    def start(self) -> None:
        _as_postgres(BIN / "initdb", "-D", self.primary.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        with (self.primary.data / "postgresql.conf").open("a") as conf:
            # '*': the one standby must confirm every commit before it returns (no commit lost on failover).
            conf.write("synchronous_standby_names = '*'\nsynchronous_commit = on\nlisten_addresses = '127.0.0.1'\n")
        self.primary.start()
        _as_postgres(
            BIN / "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            "postgres",
            "-D",
            self.replica.data,
            "-R",
            "-X",
            "stream",
        )
        with (self.replica.data / "postgresql.conf").open("a") as conf:
            # A promoted replica has no standby of its own: it must not wait for one.
            conf.write("synchronous_standby_names = ''\n")
        self.replica.start()

    @property
    def url(self) -> str:
        """Both servers, as libpq and asyncpg read it: the first one that accepts writes."""
        hosts = f"127.0.0.1:{self.primary.port},127.0.0.1:{self.replica.port}"
        return f"postgresql://postgres@{hosts}/lrs?target_session_attrs=read-write"

    def close(self) -> None:
        for server in (self.primary, self.replica):
            if server.running():
                try:
                    server.stop("immediate")
                except subprocess.CalledProcessError:
                    pid = int((server.data / "postmaster.pid").read_text().split()[0])
                    os.kill(pid, 9)
        shutil.rmtree(self.root, ignore_errors=True)

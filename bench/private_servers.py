"""Private servers for tests and benchmarks that stop, kill or promote them, never the
machine's own (PostgreSQL on 5432, RabbitMQ on 5672), which other tests use:

- `ReplicatedPostgres`: a primary and a synchronous streaming replica on ports of their own, in
  a temporary directory, run as the `postgres` user with initdb and pg_ctl;
- `RabbitCluster`: RabbitMQ nodes with their own names, ports, config and data, run as the
  `rabbitmq` user and joined in one cluster.
"""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*args: str | Path) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)], check=True, capture_output=True, timeout=120)


def _ephemeral_range() -> range:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return range(int(low), int(high) + 1)


_handed_out: set[int] = set()


def free_port() -> int:
    """A port nobody listens on, below the kernel's ephemeral range.

    Port 0 would give one from inside that range, where every outgoing connection (a client, a
    `rabbitmqctl`, a replica's WAL stream) also takes its local port: in the seconds between
    choosing a port and the server binding it, one of those can take it, and the server fails
    to boot (seen in CI: a RabbitMQ node's AMQP listener, "rabbit_is_not_running").
    """
    ephemeral = _ephemeral_range()
    while True:
        port = secrets.choice(range(10000, min(ephemeral.start, 32768)))
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
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

    def pids(self) -> list[int]:
        """The postmaster and every process it has started (backends, checkpointer, WAL sender...)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
        return [postmaster, *map(int, children)]


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


def _as_rabbitmq(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run a RabbitMQ command as its user (the Erlang cookie is in its home) with `env` set."""
    command = ["runuser", "-u", "rabbitmq", "--", "env", *(f"{k}={v}" for k, v in env.items()), *args]
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout)
    return done.stdout


def _pids_with_env(entry: str) -> list[int]:
    """The Erlang VMs whose environment holds `entry` (as root, every process's is readable)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "comm").read_text().startswith("beam"):
                if entry.encode() in (proc / "environ").read_bytes().split(b"\0"):
                    pids.append(int(proc.name))
        except OSError:  # gone meanwhile
            continue
    return pids


@dataclass
class RabbitNode:
    """One RabbitMQ node with its own name, ports, config and data: never the machine's own,
    whose config (/etc/rabbitmq) pins port 5672 and the node name `rabbit@localhost`."""

    root: Path
    name: str
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    management_port: int = field(default_factory=free_port)

    @property
    def node(self) -> str:
        return f"{self.name}@localhost"

    @property
    def home(self) -> Path:
        return self.root / self.name

    @property
    def env(self) -> dict[str, str]:
        return {
            "HOME": "/var/lib/rabbitmq",  # the cookie shared by the nodes of the cluster
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_CONF_ENV_FILE": str(self.home / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.home / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.home / "enabled_plugins"),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.home / "log"),
            "RABBITMQ_PID_FILE": str(self.home / "node.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def configure(self) -> None:
        self.home.mkdir(parents=True)
        (self.home / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's, which names the main node
        (self.home / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.management_port}\n"
        )
        (self.home / "enabled_plugins").write_text("[rabbitmq_management,rabbitmq_consistent_hash_exchange].\n")
        shutil.chown(self.home, "rabbitmq", "rabbitmq")
        for f in self.home.iterdir():
            shutil.chown(f, "rabbitmq", "rabbitmq")

    def start(self) -> None:
        """Start the node in the background and wait until it serves AMQP."""
        (self.home / "node.pid").unlink(missing_ok=True)  # a killed node's: `wait` would read it
        _as_rabbitmq(self.env, "rabbitmq-server", "-detached")
        # `wait` polls the pid file the node writes, then its boot: a node not yet up answers
        # other commands "unavailable".
        try:
            self.ctl("wait", "--timeout", "120", str(self.home / "node.pid"))
        except subprocess.CalledProcessError as e:
            raise RuntimeError(f"{self.node} did not start: {e.stdout}{e.stderr}\n{self.log_tail()}") from e

    def boot(self, attempts: int = 3) -> None:
        """The first start of a new node: when one of its ports was taken meanwhile (by a process
        outside this harness), start again on fresh ports. Later starts keep their ports, which
        clients and the hubs already hold."""
        for attempt in range(attempts):
            try:
                self.start()
                return
            except RuntimeError:
                if attempt == attempts - 1 or "eaddrinuse" not in self.log_tail():
                    raise
            self.kill_leftover()
            shutil.rmtree(self.home)
            self.port, self.dist_port, self.management_port = free_port(), free_port(), free_port()
            self.configure()

    def log_tail(self, lines: int = 40) -> str:
        log = self.home / "log" / f"{self.node}.log"  # beside it, an empty `_upgrade.log`
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""

    def kill_leftover(self) -> None:
        """Kill the node's VM, if it runs: a node that failed to boot stays up, maybe with no pid
        file, and holds its name. Its command line names neither node nor directory (they are in
        its environment), so it is found by `RABBITMQ_NODENAME`."""
        for pid in _pids_with_env(f"RABBITMQ_NODENAME={self.node}"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        while _pids_with_env(f"RABBITMQ_NODENAME={self.node}"):
            time.sleep(0.1)

    def ctl(self, *args: str) -> str:
        return _as_rabbitmq(self.env, "rabbitmqctl", "-n", self.node, *args)

    def stop(self) -> None:
        """A graceful stop of the whole node (its queues' leaders move to the others first)."""
        self.ctl("stop")

    def kill(self) -> None:
        """`kill -9` the node's Erlang VM: connections cut, nothing flushed."""
        os.kill(self.pid(), signal.SIGKILL)
        while self.running():
            time.sleep(0.1)

    def pid(self) -> int:
        return int((self.home / "node.pid").read_text().strip())

    def running(self) -> bool:
        try:
            os.kill(self.pid(), 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return False
        return True

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"


class RabbitCluster:
    """`size` RabbitMQ nodes joined in one cluster, in a temporary directory, run as `rabbitmq`."""

    def __init__(self, size: int = 3) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="lrs-rabbit-"))
        shutil.chown(self.root, "rabbitmq", "rabbitmq")
        tag = f"lrs{os.getpid()}x{secrets.token_hex(2)}"
        self.nodes = [RabbitNode(self.root, f"{tag}n{i}") for i in range(size)]

    def start(self) -> None:
        for node in self.nodes:
            node.configure()
        with ThreadPoolExecutor(len(self.nodes)) as pool:  # boots in parallel: a node takes ~10 s
            list(pool.map(RabbitNode.boot, self.nodes))
        first, *others = self.nodes
        with ThreadPoolExecutor(len(others)) as pool:
            list(pool.map(lambda node: node.ctl("stop_app"), others))
        for node in others:  # one at a time: each join changes the cluster's membership
            node.ctl("join_cluster", first.node)
        with ThreadPoolExecutor(len(others)) as pool:
            list(pool.map(lambda node: node.ctl("start_app"), others))

    @property
    def url(self) -> str:
        return self.nodes[0].url

    @property
    def nodes_setting(self) -> str:
        """The other nodes, as LRS_AMQP_NODES takes them."""
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[1:])

    def close(self) -> None:
        for node in self.nodes:
            node.kill_leftover()
        subprocess.run(["rm", "-rf", str(self.root)], check=False)

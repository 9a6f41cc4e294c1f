"""The whole hub as organisations see it: `hub serve` processes and the `hub` CLI, as a user runs them."""

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import httpx
import pytest
from yarl import URL

from tests.conftest import AMQP_SERVER, AUDIT_KEY, DATA_KEY, MANAGEMENT

HUB = [sys.executable, "-m", "adapters.cli.main"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hub_env(database_url: str, vhost: str, tmp_path: Path) -> dict[str, str]:
    return os.environ | {
        "LRS_DATABASE_URL": database_url,
        "LRS_AMQP_URL": str(URL(AMQP_SERVER).with_path(f"/{vhost}")),
        "LRS_RABBIT_MANAGEMENT_URL": MANAGEMENT,
        "LRS_BATCH_OUTPUT_DIR": str(tmp_path / "out"),
        "LRS_LOG_LEVEL": "WARNING",
        "LRS_LOG_HASH_KEY": secrets.token_hex(32),  # `hub serve` refuses to start without a strong key
        "LRS_DATA_KEY": DATA_KEY,  # nor without a strong data key
        "LRS_AUDIT_KEY": AUDIT_KEY,  # nor an audit key
        "LRS_AUDIT_HEADS_FILE": str(tmp_path / "audit-heads.jsonl"),
    }


def _wait_until_started(logs: list[Path], timeout_s: float = 60) -> None:
    # Each `hub serve` logs "hub started" once it is consuming (the management API's
    # consumer counts lag by seconds, so they are no use here).
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all("hub started" in log.read_text() for log in logs):
            return
        time.sleep(0.1)
    raise TimeoutError(f"hub did not start in {timeout_s}s: " + " | ".join(log.read_text()[-500:] for log in logs))


class StartHub(Protocol):
    def __call__(
        self, processes: int = 1, extra_env: dict[str, str] | None = None
    ) -> list[subprocess.Popen[bytes]]: ...


@pytest.fixture
def start_hub(hub_env: dict[str, str], tmp_path: Path) -> Iterator[StartHub]:
    """Start N `hub serve` processes on the test's database and vhost; stop them afterwards.

    `extra_env` adds LRS_* settings for these processes only (e.g. LRS_CLOCK_SHIFT_DAYS); the
    processes this call started are returned, so that a test can stop them and start others.
    """
    started: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    env = hub_env | {"LRS_LOG_LEVEL": "INFO"}

    def _start(processes: int = 1, extra_env: dict[str, str] | None = None) -> list[subprocess.Popen[bytes]]:
        these: list[subprocess.Popen[bytes]] = []
        for _ in range(processes):
            logs.append(tmp_path / f"hub-{len(logs)}.log")
            with logs[-1].open("wb") as log:
                these.append(
                    subprocess.Popen([*HUB, "serve"], env=env | (extra_env or {}), cwd=ROOT, stdout=log, stderr=log)
                )
        started.extend(these)
        _wait_until_started(logs[-processes:])
        return these

    yield _start
    for process in started:
        if process.poll() is None:  # a test may have stopped some itself
            process.terminate()
    for process in started:
        process.wait(timeout=30)


Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def hub_cli(hub_env: dict[str, str]) -> Cli:
    def _run(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*HUB, *args], env=hub_env | (extra_env or {}), cwd=ROOT, capture_output=True, text=True, timeout=120
        )

    return _run


def _broker_users() -> set[str]:
    response = httpx.get(f"{MANAGEMENT}/api/users", auth=("guest", "guest"), timeout=10)
    response.raise_for_status()
    return {u["name"] for u in response.json()}


def _users_of(vhost: str) -> set[str]:
    response = httpx.get(f"{MANAGEMENT}/api/vhosts/{quote(vhost, safe='')}/permissions", auth=("guest", "guest"),
                         timeout=10)  # fmt: skip
    return {p["user"] for p in response.json()} if response.status_code == 200 else set()


@pytest.fixture(autouse=True)
def _remove_organisation_users(vhost: str) -> Iterator[None]:
    """`hub org add` creates RabbitMQ users, which are global: remove the ones this test created.

    Only users new since the test began *and* allowed on its vhost (or the demo's) are removed:
    a benchmark or another run on the same broker creates users of its own meanwhile.
    """
    before = _broker_users()
    yield
    ours = _users_of(vhost) | _users_of("lrs-demo")
    for user in (_broker_users() - before) & ours:
        if user.isdigit():  # organisation users are named by their ids
            httpx.delete(f"{MANAGEMENT}/api/users/{user}", auth=("guest", "guest"), timeout=10)

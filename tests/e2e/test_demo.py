"""`make demo` as a new user runs it, then `hub plr show` on the learner the demo built a PLR for."""

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from subprocess import CompletedProcess

import pytest

from tests.conftest import _admin_sql

HubCli = Callable[..., CompletedProcess[str]]


@pytest.fixture
def demo_database(database_url: str) -> Iterator[str]:
    """The database the demo makes for itself (`<database>_demo`), dropped afterwards."""
    yield f"{database_url}_demo"
    name = database_url.rsplit("/", 1)[1] + "_demo"
    asyncio.run(_admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def test_demo_runs_end_to_end_and_the_operator_reads_the_plr(hub_cli: HubCli, demo_database: str) -> None:
    """Every outcome of the demo is the expected one; the PLR it built reads back through the CLI."""
    demo = hub_cli("demo")
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "demo complete" in demo.stdout
    uln = re.search(r"hub plr show (\d{10})", demo.stdout)
    assert uln is not None, demo.stdout[-2000:]

    env = {"LRS_DATABASE_URL": demo_database}
    shown = hub_cli("plr", "show", uln.group(1), "--operator", "e2e", extra_env=env)
    as_json = hub_cli("plr", "show", uln.group(1), "--json", extra_env=env)
    missing = hub_cli("plr", "show", "9276308686", extra_env=env)

    assert (shown.returncode, "audited as operator:e2e" in shown.stdout) == (0, True), shown.stderr
    entries = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert sorted((e["source_ref"], e["version"], e["withdrawn"]) for e in entries) == [
        ("ENR-2026-01", 1, False),
        ("R-ENG", 2, True),
        ("R-MATHS", 3, False),  # re-marked twice: in the second act and the third
    ]
    assert (missing.returncode, "no learner has ULN 9276308686" in missing.stderr) == (1, True)

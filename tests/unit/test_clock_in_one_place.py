"""The clock is read in one place: handlers and the hub's operations are given `now`."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# hub/kernel/clock.py is the clock; the bus reads it once per message and gives that `now` to the handler.
_READERS = {"hub/kernel/clock.py", "hub/pipeline/inbound.py"}
_CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("clock", "now"), ("clock", "today")}
_TIME_CALLS = {("time", "time"), ("time", "time_ns")}


def clock_reads(source: str) -> list[int]:
    """Lines asking the time: datetime.now/utcnow, date.today, clock.now/today, time.time."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value
        name = owner.attr if isinstance(owner, ast.Attribute) else owner.id if isinstance(owner, ast.Name) else None
        if (name, node.func.attr) in _CLOCK_CALLS | _TIME_CALLS:
            lines.append(node.lineno)
    return lines


def test_only_the_clock_and_the_bus_read_the_time_in_hub() -> None:
    """No module of hub/ but the clock and the bus asks the time: everything else is given `now`."""
    found = {
        f"{path.relative_to(REPO).as_posix()}:{line}"
        for path in sorted((REPO / "hub").rglob("*.py"))
        if path.relative_to(REPO).as_posix() not in _READERS
        for line in clock_reads(path.read_text(encoding="utf-8"))
    }
    assert found == set()


@pytest.mark.parametrize(
    "snippet",
    [
        "datetime.now(UTC)",
        "datetime.datetime.now()",
        "date.today()",
        "clock.now()",
        "hub.kernel.clock.today()",
        "time.time()",
    ],
)
def test_the_scan_catches_a_clock_read(snippet: str) -> None:
    """The scan flags each way of asking the time."""
    assert clock_reads(snippet) != []


def test_the_scan_lets_a_given_now_pass() -> None:
    """Using the `now` a handler was given is no clock read."""
    assert clock_reads("today = now.date()\nlater = now + timedelta(days=1)") == []

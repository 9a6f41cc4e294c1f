"""The clock stays out of handlers: the pipeline reads it once per message and passes `now` in, so
everything a message does (audit times, attempt windows, the day an age is counted on) agrees."""

import ast
from pathlib import Path

HUB = Path(__file__).resolve().parents[2] / "hub"
# Who may read the clock: the clock itself, the message pipeline, and operator commands, which
# are not messages (agreements are changed from the CLI).
MAY_READ_THE_CLOCK = {"kernel/clock.py", "pipeline/inbound.py", "sharing/agreements.py"}


def _clock_reads(source: str) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "clock"
        and node.func.attr in {"now", "today"}
    ]


def test_only_the_pipeline_and_operator_commands_read_the_clock() -> None:
    reads = {p.relative_to(HUB).as_posix(): _clock_reads(p.read_text()) for p in sorted(HUB.rglob("*.py"))}
    assert len(reads) > 40  # every module of every package is read
    assert {name: lines for name, lines in reads.items() if lines and name not in MAY_READ_THE_CLOCK} == {}


def test_the_check_sees_a_clock_read() -> None:
    assert _clock_reads("from hub import clock\n\ndef f():\n    return clock.now()\n") == [4]

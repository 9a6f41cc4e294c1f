"""Every audit entry the hub and its adapters make is made one way: AuditEntry.of, by name."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def direct_constructions(source: str) -> list[int]:
    """Lines calling AuditEntry(...) itself rather than its keyword-only constructor AuditEntry.of."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "AuditEntry"
    ]


def test_hub_and_adapters_make_audit_entries_only_by_audit_entry_of() -> None:
    """No module of hub/ or adapters/ calls AuditEntry(...) positionally or otherwise: only AuditEntry.of."""
    found = {
        f"{path.relative_to(REPO).as_posix()}:{line}"
        for package in ("hub", "adapters")
        for path in sorted((REPO / package).rglob("*.py"))
        for line in direct_constructions(path.read_text(encoding="utf-8"))
    }
    assert found == set()


@pytest.mark.parametrize(
    "snippet",
    ["AuditEntry(at, 'org', None, What.ANSWER, 'p', 'allowed', '', (), None)", "AuditEntry(at=at, recipient='o')"],
)
def test_the_scan_catches_a_direct_construction(snippet: str) -> None:
    """The scan flags AuditEntry called directly, with positional or keyword arguments."""
    assert direct_constructions(snippet) != []


def test_the_scan_lets_the_named_constructor_pass() -> None:
    """AuditEntry.of is the one way, and passes."""
    assert direct_constructions("AuditEntry.of(allowed=True, at=at, recipient='o', what=w, purpose=p)") == []

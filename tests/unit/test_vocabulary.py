"""The audit log's `what` comes from one vocabulary (hub/kernel/vocabulary.py), never a string written
where an entry is made."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Where each constructor takes `what` when given positionally.
_WHAT_AT = {"AuditEntry": 3, "PortalDraft": 2}


def _called(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "AuditEntry":
        return "AuditEntry"  # a named constructor, AuditEntry.of(what=...)
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def written_whats(source: str) -> list[int]:
    """Lines giving AuditEntry or PortalDraft a `what` written in place (a literal or an f-string)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or (name := _called(node)) not in _WHAT_AT:
            continue
        position = _WHAT_AT[name]
        what = node.args[position] if len(node.args) > position else None
        what = what or next((k.value for k in node.keywords if k.arg == "what"), None)
        if isinstance(what, ast.Constant | ast.JoinedStr):
            lines.append(node.lineno)
    return lines


def test_no_audit_entry_writes_its_what_in_place() -> None:
    found = {
        f"{path.relative_to(REPO)}:{line}"
        for package in ("hub", "adapters")
        for path in sorted((REPO / package).rglob("*.py"))
        for line in written_whats(path.read_text(encoding="utf-8"))
    }
    assert found == set()


@pytest.mark.parametrize(
    "snippet",
    [
        "AuditEntry(at, 'org', uln, 'audit.log', 'p', 'allowed', '', (), None)",
        "AuditEntry(at=at, recipient='org', uln=None, what=f'feed.{x}', purpose='p')",
        "PortalDraft(answer, uln, 'learner.record')",
        "AuditEntry.of(allowed=True, at=at, recipient='org', what='audit.log', purpose='p')",
    ],
)
def test_the_scan_catches_a_what_written_in_place(snippet: str) -> None:
    assert written_whats(snippet) != []


def test_the_scan_lets_the_vocabulary_pass() -> None:
    assert written_whats("AuditEntry(at, 'org', uln, What.AUDIT_LOG.value, 'p', 'allowed', '', (), None)") == []

"""Following a linked ULN to its master is written once, in hub/register/linking.py."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Where a learner's link may be read: the model that defines it, and the linking that follows it.
_ALLOWED = {"hub/kernel/model.py", "hub/register/linking.py"}


def test_only_linking_follows_a_linked_uln_to_its_master() -> None:
    """No module of hub/ or adapters/ but hub/register/linking.py tests for a linked learner: they call
    resolve_master."""
    found = {
        path.relative_to(REPO).as_posix()
        for package in ("hub", "adapters")
        for path in sorted((REPO / package).rglob("*.py"))
        if "LearnerStatus.LINKED" in path.read_text(encoding="utf-8")
    }
    assert found - _ALLOWED == set()

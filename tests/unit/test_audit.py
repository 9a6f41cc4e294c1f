"""The audit log's hash chain (hub.audit): tampering is found at the entry it starts."""

from datetime import UTC, datetime, timedelta

from hub.audit import GENESIS_HASH, entry_hash, first_broken_link
from hub.ports import AuditEntry

from .builders import fresh_uln

START = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def entries(count: int = 5) -> list[AuditEntry]:
    return [
        AuditEntry(
            at=START + timedelta(seconds=i),
            recipient="10030488",
            uln=fresh_uln(),
            what="learner.register_view",
            purpose="registration",
            decision="allowed",
            reason="",
            fields=("uln", "given_name", "family_name"),
            correlation_id=f"req-{i}",
        )
        for i in range(count)
    ]


def chain(items: list[AuditEntry]) -> list[tuple[AuditEntry, str]]:
    """Hash entries in order, each chained to the one before, as the unit of work stores them."""
    linked, previous = [], GENESIS_HASH
    for entry in items:
        previous = entry_hash(previous, entry)
        linked.append((entry, previous))
    return linked


def test_built_chain_verifies() -> None:
    """An untouched chain has no broken link."""
    assert first_broken_link(chain(entries())) is None


def test_empty_chain_verifies() -> None:
    """An empty log has no broken link."""
    assert first_broken_link([]) is None


def test_changed_entry_is_found_at_its_index() -> None:
    """Turning a refusal into an allowance (or any change) breaks the link at that entry."""
    log = chain(entries())
    entry, stored = log[2]
    log[2] = (AuditEntry(**{**entry.__dict__, "decision": "refused"}), stored)
    assert first_broken_link(log) == 2


def test_changed_stored_hash_is_found_at_its_index() -> None:
    """Rewriting an entry's stored hash breaks the link at that entry."""
    log = chain(entries())
    log[3] = (log[3][0], "f" * 64)
    assert first_broken_link(log) == 3


def test_deleted_entry_is_found_where_it_was() -> None:
    """Deleting an entry breaks the link at the entry that followed it."""
    log = chain(entries())
    del log[2]
    assert first_broken_link(log) == 2


def test_swapped_entries_are_found_at_the_first() -> None:
    """Swapping two neighbouring entries breaks the link at the first of them."""
    log = chain(entries())
    log[1], log[2] = log[2], log[1]
    assert first_broken_link(log) == 1


def test_rehashed_entry_still_breaks_the_next_link() -> None:
    """Changing an entry and recomputing its own hash is still found, at the entry after it."""
    log = chain(entries())
    entry = AuditEntry(**{**log[1][0].__dict__, "recipient": "10000001"})
    log[1] = (entry, entry_hash(log[0][1], entry))
    assert first_broken_link(log) == 2

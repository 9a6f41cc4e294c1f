"""The audit log's hash chain (hub.audit): tampering is found at the entry it starts."""

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

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


# --- the fields added later (agreement and consent versions) -----------------------------------

# An entry of the Learner Register's, as written before entries named agreements and consents.
BEFORE_SHARING = AuditEntry(
    at=START,
    recipient="10030488",
    uln="9000000008",
    what="learner.register_view",
    purpose="registration",
    decision="allowed",
    reason="",
    fields=("uln", "given_name"),
    correlation_id="req-1",
)
# Its canonical JSON as hub/audit.py describes it: the nine original fields, keys sorted, no spaces.
BEFORE_SHARING_JSON = (
    '{"at":"2026-11-29T09:00:00+00:00","correlation_id":"req-1","decision":"allowed",'
    '"fields":["uln","given_name"],"purpose":"registration","reason":"","recipient":"10030488",'
    '"uln":"9000000008","what":"learner.register_view"}'
)


def sha256_of(previous_hash: str, canonical: str) -> str:
    return hashlib.sha256((previous_hash + canonical).encode()).hexdigest()


def test_an_entry_without_the_later_fields_hashes_as_before_they_existed() -> None:
    """Unset agreement and consent fields are left out: old entries keep verifying."""
    assert entry_hash(GENESIS_HASH, BEFORE_SHARING) == sha256_of(GENESIS_HASH, BEFORE_SHARING_JSON)


def test_an_entry_with_nulls_hashes_them_as_json_null() -> None:
    """A refusal with no ULN and no correlation id: null in the canonical JSON, chained to the previous hash."""
    refused = replace(BEFORE_SHARING, uln=None, decision="refused", reason="no", fields=(), correlation_id=None)
    canonical = (
        '{"at":"2026-11-29T09:00:00+00:00","correlation_id":null,"decision":"refused","fields":[],'
        '"purpose":"registration","reason":"no","recipient":"10030488","uln":null,"what":"learner.register_view"}'
    )
    assert entry_hash("a" * 64, refused) == sha256_of("a" * 64, canonical)


@pytest.mark.parametrize(
    ("later", "canonical"),
    [
        ({"agreement_id": "DSA-1"}, BEFORE_SHARING_JSON.replace('{"at"', '{"agreement_id":"DSA-1","at"')),
        ({"agreement_version": 2}, BEFORE_SHARING_JSON.replace('{"at"', '{"agreement_version":2,"at"')),
        (
            {"consent_version": 0},
            BEFORE_SHARING_JSON.replace(',"correlation_id"', ',"consent_version":0,"correlation_id"'),
        ),
        (
            {"agreement_id": "DSA-1", "agreement_version": 2, "consent_version": 5},
            BEFORE_SHARING_JSON.replace('{"at"', '{"agreement_id":"DSA-1","agreement_version":2,"at"').replace(
                ',"correlation_id"', ',"consent_version":5,"correlation_id"'
            ),
        ),
    ],
    ids=["agreement_id", "agreement_version", "consent_version 0", "all three"],
)
def test_setting_a_later_field_changes_the_hash(later: dict[str, Any], canonical: str) -> None:
    """Once set (even to 0), a later field is hashed in its sorted place: changing it breaks the chain."""
    entry = replace(BEFORE_SHARING, **later)
    assert entry_hash(GENESIS_HASH, entry) == sha256_of(GENESIS_HASH, canonical)
    assert entry_hash(GENESIS_HASH, entry) != entry_hash(GENESIS_HASH, BEFORE_SHARING)
    assert first_broken_link([(entry, entry_hash(GENESIS_HASH, BEFORE_SHARING))]) == 0

"""The audit log's keyed hash chain (hub.kernel.audit): tampering is found at the entry it starts,
and nobody without the key can append or rewrite entries that verify."""

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.kernel.audit import (
    GENESIS_HASH,
    ChainBreak,
    ChainKey,
    ChainKeys,
    LinkedEntry,
    WeakAuditKeyError,
    first_broken_link,
    unkeyed_hash,
)
from hub.kernel.ports import AuditEntry

from .builders import fresh_uln

START = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
KEY = "k" * 40
KEYS = ChainKeys(KEY)
TAMPERED = "changed, deleted, reordered or appended without the key"


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


def chain(items: list[AuditEntry], key: ChainKey = KEYS.current, previous: str = GENESIS_HASH) -> list[LinkedEntry]:
    """Hash entries in order under `key`, each chained to the one before, as the unit of work stores them."""
    linked = []
    for entry in items:
        previous = key.link(previous, entry)
        linked.append(LinkedEntry(entry, previous, key.key_id))
    return linked


def unkeyed_chain(items: list[AuditEntry], previous: str = GENESIS_HASH) -> list[LinkedEntry]:
    """Entries as the hub hashed them before the chain was keyed (plain SHA-256)."""
    linked = []
    for entry in items:
        previous = unkeyed_hash(previous, entry)
        linked.append(LinkedEntry(entry, previous, None))
    return linked


def test_built_chain_verifies() -> None:
    """An untouched chain has no broken link."""
    assert first_broken_link(chain(entries()), KEYS) is None


def test_empty_chain_verifies() -> None:
    """An empty log has no broken link."""
    assert first_broken_link([], KEYS) is None


def test_changed_entry_is_found_at_its_index() -> None:
    """Turning a refusal into an allowance (or any change) breaks the link at that entry."""
    log = chain(entries())
    log[2] = replace(log[2], entry=replace(log[2].entry, decision="refused"))
    assert first_broken_link(log, KEYS) == ChainBreak(2, TAMPERED)


def test_changed_stored_hash_is_found_at_its_index() -> None:
    """Rewriting an entry's stored hash breaks the link at that entry."""
    log = chain(entries())
    log[3] = replace(log[3], hash="f" * 64)
    assert first_broken_link(log, KEYS) == ChainBreak(3, TAMPERED)


def test_deleted_entry_is_found_where_it_was() -> None:
    """Deleting an entry breaks the link at the entry that followed it."""
    log = chain(entries())
    del log[2]
    assert first_broken_link(log, KEYS) == ChainBreak(2, TAMPERED)


def test_swapped_entries_are_found_at_the_first() -> None:
    """Swapping two neighbouring entries breaks the link at the first of them."""
    log = chain(entries())
    log[1], log[2] = log[2], log[1]
    assert first_broken_link(log, KEYS) == ChainBreak(1, TAMPERED)


def test_an_entry_rehashed_without_the_key_is_found() -> None:
    """Changing an entry and recomputing every later hash, as anyone could with plain SHA-256
    (or an HMAC under a key of their own), is found at the entry changed."""
    log = chain(entries())
    forged = chain([replace(e.entry, recipient="10000001") for e in log[1:]], ChainKey("x" * 40), log[0].hash)
    relabelled = [replace(f, key_id=KEYS.current.key_id) for f in forged]
    assert first_broken_link([log[0], *relabelled], KEYS) == ChainBreak(1, TAMPERED)
    recomputed = unkeyed_chain([e.entry for e in log[1:]], log[0].hash)
    assert first_broken_link([log[0], *recomputed], KEYS) == ChainBreak(
        1, "an unkeyed entry after the chain was keyed (appended without the key)"
    )


def test_an_entry_appended_without_the_key_is_found() -> None:
    """An INSERT of a forged last entry, hashed however the forger likes, does not verify."""
    log = chain(entries())
    extra = entries(1)[0]
    under_guess = LinkedEntry(extra, ChainKey("g" * 40).link(log[-1].hash, extra), KEYS.current.key_id)
    assert first_broken_link([*log, under_guess], KEYS) == ChainBreak(5, TAMPERED)


def test_an_entry_under_an_unknown_key_says_which_key() -> None:
    """An entry keyed under a key the verifier does not hold is named, not taken as tampering."""
    other = ChainKey("o" * 40)
    assert first_broken_link(chain(entries(2), other), KEYS) == ChainBreak(
        0, f"keyed under {other.key_id}, which is neither LRS_AUDIT_KEY nor one of LRS_AUDIT_RETIRED_KEYS"
    )


def test_a_retired_key_still_verifies_the_entries_hashed_under_it() -> None:
    """After rotation, old entries verify under the retired key and new ones under the new key."""
    old, new = ChainKeys("o" * 40), ChainKeys("n" * 40, retired=["o" * 40])
    before = chain(entries(3), old.current)
    after = chain(entries(2), new.current, before[-1].hash)
    assert first_broken_link([*before, *after], new) is None


def test_entries_from_before_keying_verify_as_far_as_an_anchor_vouches_and_are_sealed_by_the_first_keyed() -> None:
    """An old log's plain-hashed entries verify when an anchor covers them; the first keyed entry
    covers their last hash, so rewriting them afterwards (and recomputing their plain hashes) is found."""
    old = unkeyed_chain(entries(3))
    log = [*old, *chain(entries(2), previous=old[-1].hash)]
    assert first_broken_link(log, KEYS, vouched=3) is None
    rewritten = unkeyed_chain([replace(old[0].entry, decision="refused"), old[1].entry, old[2].entry])
    assert first_broken_link([*rewritten, *log[3:]], KEYS, vouched=3) == ChainBreak(3, TAMPERED)


def test_a_log_rewritten_whole_with_plain_hashes_fails_without_an_anchor_vouching_for_it() -> None:
    """Recomputing every hash as SHA-256, as if the whole log predated keying, proves nothing."""
    assert first_broken_link(unkeyed_chain(entries(3)), KEYS) == ChainBreak(
        0, "an unkeyed entry no anchor vouches for (written or rewritten without the key)"
    )
    assert first_broken_link(unkeyed_chain(entries(3)), KEYS, vouched=2) == ChainBreak(
        2, "an unkeyed entry no anchor vouches for (written or rewritten without the key)"
    )


def test_the_key_id_names_the_key_and_is_not_the_key() -> None:
    key = ChainKey(KEY)
    assert key.key_id == ChainKey(KEY).key_id != ChainKey("z" * 40).key_id
    assert KEY not in key.key_id and len(key.key_id) == 16


@pytest.mark.parametrize("weak", ["", "short", "x" * 31])
def test_a_short_key_is_refused_naming_the_variable(weak: str) -> None:
    with pytest.raises(WeakAuditKeyError, match="LRS_AUDIT_KEY must be a secret of at least 32 characters"):
        ChainKey(weak)


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
# Its canonical JSON as hub/kernel/audit.py describes it: the nine original fields, keys sorted, no spaces.
BEFORE_SHARING_JSON = (
    '{"at":"2026-11-29T09:00:00+00:00","correlation_id":"req-1","decision":"allowed",'
    '"fields":["uln","given_name"],"purpose":"registration","reason":"","recipient":"10030488",'
    '"uln":"9000000008","what":"learner.register_view"}'
)


def sha256_of(previous_hash: str, canonical: str) -> str:
    return hashlib.sha256((previous_hash + canonical).encode()).hexdigest()


def test_an_entry_without_the_later_fields_hashes_as_before_they_existed() -> None:
    """Unset agreement and consent fields are left out: old entries keep verifying."""
    assert unkeyed_hash(GENESIS_HASH, BEFORE_SHARING) == sha256_of(GENESIS_HASH, BEFORE_SHARING_JSON)


def test_an_entry_with_nulls_hashes_them_as_json_null() -> None:
    """A refusal with no ULN and no correlation id: null in the canonical JSON, chained to the previous hash."""
    refused = replace(BEFORE_SHARING, uln=None, decision="refused", reason="no", fields=(), correlation_id=None)
    canonical = (
        '{"at":"2026-11-29T09:00:00+00:00","correlation_id":null,"decision":"refused","fields":[],'
        '"purpose":"registration","reason":"no","recipient":"10030488","uln":null,"what":"learner.register_view"}'
    )
    assert unkeyed_hash("a" * 64, refused) == sha256_of("a" * 64, canonical)


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
    assert unkeyed_hash(GENESIS_HASH, entry) == sha256_of(GENESIS_HASH, canonical)
    assert unkeyed_hash(GENESIS_HASH, entry) != unkeyed_hash(GENESIS_HASH, BEFORE_SHARING)
    stored = LinkedEntry(entry, unkeyed_hash(GENESIS_HASH, BEFORE_SHARING), None)
    assert first_broken_link([stored], KEYS, vouched=1) == ChainBreak(0, TAMPERED)


def test_a_keyed_link_is_the_hmac_of_the_previous_hash_and_the_canonical_json() -> None:
    """The keyed link is documented as HMAC-SHA256(key, previous hash + canonical JSON)."""
    expected = hmac.new(KEY.encode(), (GENESIS_HASH + BEFORE_SHARING_JSON).encode(), hashlib.sha256).hexdigest()
    assert KEYS.current.link(GENESIS_HASH, BEFORE_SHARING) == expected

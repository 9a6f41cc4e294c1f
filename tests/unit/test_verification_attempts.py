"""The verification attempt limit (hub.records.attempts): verifying cannot be used to guess a learner's details."""

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts.codes import ResponseCode
from contracts.plr import Verification, VerificationResult, VerifyLearner, VerifyLearners
from hub.kernel import clock
from hub.kernel.model import Learner, LearnerStatus, Organisation
from hub.kernel.ports import AuditEntry
from hub.records.attempts import ATTEMPT_LIMIT, REFUSAL

from .builders import awarding_organisation, details, fresh_uln, learner
from .fakes import FakeUnitOfWorkFactory
from .plr_builders import audited, outbound_to, send, verify_item

VERIFY = VerifyLearner.message_type
VERIFY_BATCH = VerifyLearners.message_type
BORN = date(2008, 4, 12)  # Amelia's date of birth, as builders.details() registers her
AT = datetime(2026, 11, 29, 10, 30, tzinfo=UTC)


@pytest.fixture
def awarding(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    """An awarding organisation known to the register."""
    return hub_db.add_organisation(awarding_organisation())


def guess(uln: str, born: date, **overrides: Any) -> dict[str, Any]:
    """Amelia's ULN and names with a guessed date of birth."""
    return verify_item(uln, date_of_birth=born.isoformat(), **overrides)


def wrong_birth_dates(count: int) -> list[date]:
    return [BORN + timedelta(days=n) for n in range(1, count + 1)]


def refused(uln: str, index: int = 0) -> VerificationResult:
    return VerificationResult(
        index=index, supplied_uln=uln, response_code=ResponseCode.NOT_VERIFIED, description=REFUSAL,
        reason="too_many_attempts",
    )  # fmt: skip


def not_verified(uln: str, index: int = 0) -> VerificationResult:
    return VerificationResult(
        index=index, supplied_uln=uln, response_code=ResponseCode.NOT_VERIFIED,
        description="Learner could not be verified",
    )  # fmt: skip


def verified(uln: str, index: int = 0) -> VerificationResult:
    return VerificationResult(
        index=index, supplied_uln=uln, response_code=ResponseCode.EXACT_MATCH, description="Exact match", uln=uln
    )


async def results(hub_db: FakeUnitOfWorkFactory, ao: Organisation, body: dict[str, Any], kind: str) -> list[Any]:
    """Send one verify or verify batch and return the results of the answer it got."""
    before = len(outbound_to(hub_db, ao))
    await send(hub_db, ao, body, kind)
    [answer] = outbound_to(hub_db, ao)[before:]
    return Verification.model_validate(answer.body).items


async def fail(hub_db: FakeUnitOfWorkFactory, ao: Organisation, uln: str, times: int = ATTEMPT_LIMIT) -> None:
    """Fail to verify `uln` `times` times, one wrong date of birth a message."""
    for born in wrong_birth_dates(times):
        assert await results(hub_db, ao, guess(uln, born), VERIFY) == [not_verified(uln)]


async def test_a_batch_of_5000_birth_dates_does_not_reveal_the_right_one(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """Of 5,000 guessed dates of birth in one batch the first five are checked and fail; the rest,
    the right one among them, are refused alike, unchecked."""
    amelia = hub_db.add_learner(learner())
    dates = wrong_birth_dates(4999)
    dates.insert(2500, BORN)
    items = [guess(amelia.uln, born) for born in dates]
    answer = await results(hub_db, awarding, {"items": items}, VERIFY_BATCH)
    assert answer == [not_verified(amelia.uln, i) for i in range(5)] + [refused(amelia.uln, i) for i in range(5, 5000)]


async def test_after_the_limit_even_the_right_details_are_refused(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """Five failed verifications in separate messages, then the right date of birth: refused, not confirmed."""
    amelia = hub_db.add_learner(learner())
    await fail(hub_db, awarding, amelia.uln)
    assert await results(hub_db, awarding, guess(amelia.uln, BORN), VERIFY) == [refused(amelia.uln)]


async def test_the_refusal_is_the_same_whatever_is_guessed(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """Past the limit, right and wrong details, names only or a wrong name all get the same refusal."""
    amelia = hub_db.add_learner(learner())
    await fail(hub_db, awarding, amelia.uln)
    items = [guess(amelia.uln, BORN), guess(amelia.uln, BORN + timedelta(days=9)), verify_item(amelia.uln),
             verify_item(amelia.uln, given_name="Grace"), verify_item(amelia.uln, gender=1)]  # fmt: skip
    answer = await results(hub_db, awarding, {"items": items}, VERIFY_BATCH)
    assert answer == [refused(amelia.uln, i) for i in range(5)]


async def test_fewer_failures_than_the_limit_leave_verification_as_it_was(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """Four typing mistakes, then the right details: verified."""
    amelia = hub_db.add_learner(learner())
    await fail(hub_db, awarding, amelia.uln, ATTEMPT_LIMIT - 1)
    assert await results(hub_db, awarding, guess(amelia.uln, BORN), VERIFY) == [verified(amelia.uln)]


async def test_a_verified_attempt_does_not_reset_the_count(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """Names alone verify, so verifying in between guesses does not earn a guesser more of them."""
    amelia = hub_db.add_learner(learner())
    items = [guess(amelia.uln, BORN + timedelta(days=n)) for n in (1, 2, 3)] + [verify_item(amelia.uln)]
    items += [guess(amelia.uln, BORN + timedelta(days=n)) for n in (4, 5, 6)]
    answer = await results(hub_db, awarding, {"items": items}, VERIFY_BATCH)
    codes = [(r.response_code, r.reason) for r in answer]
    wrong, right = (ResponseCode.NOT_VERIFIED, None), (ResponseCode.EXACT_MATCH, None)
    assert codes == [wrong, wrong, wrong, right, wrong, wrong, (ResponseCode.NOT_VERIFIED, "too_many_attempts")]


async def test_the_limit_is_per_sender(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """Another awarding organisation still verifies the learner one organisation was refused."""
    amelia = hub_db.add_learner(learner())
    await fail(hub_db, awarding, amelia.uln)
    other = hub_db.add_organisation(awarding_organisation())
    assert await results(hub_db, other, guess(amelia.uln, BORN), VERIFY) == [verified(amelia.uln)]


async def test_the_limit_is_per_learner(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """A sender refused for one learner still verifies another."""
    amelia, grace = hub_db.add_learner(learner()), hub_db.add_learner(learner(given_name="Grace"))
    await fail(hub_db, awarding, amelia.uln)
    items = [verify_item(grace.uln, given_name="Grace"), verify_item(amelia.uln)]
    answer = await results(hub_db, awarding, {"items": items}, VERIFY_BATCH)
    assert answer == [verified(grace.uln, 0), refused(amelia.uln, 1)]


async def test_a_linked_uln_counts_against_its_master(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """Failures through the master's ULN refuse its linked ULN too, and the other way round: no extra tries."""
    master = hub_db.add_learner(learner())
    linked = hub_db.add_learner(Learner(fresh_uln(), details(), status=LearnerStatus.LINKED, master_uln=master.uln))
    await fail(hub_db, awarding, linked.uln, 3)
    await fail(hub_db, awarding, master.uln, 2)
    items = [guess(linked.uln, BORN), guess(master.uln, BORN)]
    answer = await results(hub_db, awarding, {"items": items}, VERIFY_BATCH)
    assert answer == [refused(linked.uln, 0), refused(master.uln, 1)]


async def test_a_uln_nobody_has_is_limited_alike(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """A valid ULN no learner has is refused after as many failures, so the refusal tells no ULN exists."""
    nobody = fresh_uln()
    await fail(hub_db, awarding, nobody)
    assert await results(hub_db, awarding, verify_item(nobody), VERIFY) == [refused(nobody)]


async def test_failures_older_than_the_window_no_longer_count(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day after the last of five failures, the sender's next attempt is checked again."""
    amelia = hub_db.add_learner(learner())
    await fail(hub_db, awarding, amelia.uln)
    monkeypatch.setattr(clock, "_shift", timedelta(days=1))
    assert await results(hub_db, awarding, guess(amelia.uln, BORN), VERIFY) == [verified(amelia.uln)]


async def test_a_check_digit_failure_is_not_counted(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """WSEC0136 names no learner: any number of them leave every other ULN's count alone."""
    amelia = hub_db.add_learner(learner())
    items = [verify_item("1234567890")] * 10 + [verify_item(amelia.uln)]
    answer = await results(hub_db, awarding, {"items": items}, VERIFY_BATCH)
    assert [r.response_code for r in answer] == [ResponseCode.INVALID_ULN] * 10 + [ResponseCode.EXACT_MATCH]
    assert hub_db.state.failed_verifications == {}


async def test_a_rolled_back_message_counts_nothing(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """A message whose transaction faults leaves no failure counted (it is counted when it is handled)."""
    amelia = hub_db.add_learner(learner())
    hub_db.faults["outbox.add"] = RuntimeError("broker away")
    with pytest.raises(RuntimeError):
        await send(hub_db, awarding, guess(amelia.uln, BORN + timedelta(days=1)), VERIFY)
    assert hub_db.state.failed_verifications == {}


# --- the learner's audit log ----------------------------------------------------------------


def without_time(entries: list[AuditEntry]) -> list[AuditEntry]:
    return [dataclasses.replace(e, at=AT) for e in entries]


def attempt(
    ao: Organisation, uln: str | None, decision: str, reason: str, fields: tuple[str, ...], cid: str
) -> AuditEntry:
    return AuditEntry(at=AT, recipient=ao.org_id, uln=uln, what="learner.verification", purpose="verification",
                      decision=decision, reason=reason, fields=fields, correlation_id=cid)  # fmt: skip


async def test_every_attempt_is_in_the_learners_audit_log(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """Verified, failed (with the fields that differed) and refused attempts are each an entry under the
    learner's (master) ULN, naming the sender; an unknown ULN's attempt is under no learner."""
    amelia = hub_db.add_learner(learner())
    await fail(hub_db, awarding, amelia.uln, ATTEMPT_LIMIT - 1)
    nobody = fresh_uln()
    items = [verify_item(amelia.uln), guess(amelia.uln, BORN, given_name="Grace"), verify_item(nobody),
             guess(amelia.uln, BORN)]  # fmt: skip
    hub_db.state.audit.clear()
    _, message = await send(hub_db, awarding, {"items": items}, VERIFY_BATCH)
    cid = message.message_id
    assert without_time(audited(hub_db, "learner.verification")) == [
        attempt(awarding, amelia.uln, "allowed", "verified WSRC0004", ("uln", "response_code"), cid),
        attempt(awarding, amelia.uln, "allowed", "not verified WSEC0208: given_name did not match",
                ("response_code",), cid),
        attempt(awarding, None, "allowed", "not verified WSEC0208", ("response_code",), cid),
        attempt(awarding, amelia.uln, "refused", "too_many_attempts: not checked", (), cid),
    ]  # fmt: skip

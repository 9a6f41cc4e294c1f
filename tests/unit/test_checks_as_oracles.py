"""Achievements, enrolments and partners' record requests check a learner's details within the same
attempt limit as verification (hub.records.verification.Checker), so none of them reveals those details."""

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts.codes import ResponseCode
from contracts.plr import AchievementBulk, ItemOutcome, VerifyLearner
from contracts.sharing import PartnerRecord
from hub.kernel.model import EventKind, Learner, Organisation
from hub.kernel.ports import AuditEntry
from hub.records.attempts import ATTEMPT_LIMIT, REFUSAL
from hub.records.plr import NOT_VERIFIED
from hub.sharing.policy import Consent, Scope

from .builders import awarding_organisation, fresh_uln, provider
from .fakes import FakeUnitOfWorkFactory
from .plr_builders import (
    PUBLISH,
    SUBMIT,
    amend_body,
    audited,
    enrolment_body,
    entry_of,
    fresh_ref,
    last_receipt,
    send,
    submit_body,
    verify_item,
)
from .sharing_builders import PURPOSE, partner, received, sharing_learner, with_agreement

BULK = AchievementBulk.message_type
AMEND = "achievement.amend.v1"
RECORD_REQUEST = "partner.record_request.v1"
BORN = date(2008, 4, 12)  # Amelia's date of birth, as builders.details() registers her
AT = datetime(2026, 11, 29, 10, 30, tzinfo=UTC)


@pytest.fixture
def awarding(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    return hub_db.add_organisation(awarding_organisation())


@pytest.fixture
def amelia(hub_db: FakeUnitOfWorkFactory) -> Learner:
    return sharing_learner(hub_db)


def wrong_birth_dates(count: int) -> list[str]:
    return [(BORN + timedelta(days=n)).isoformat() for n in range(1, count + 1)]


def not_verified(index: int, ref: str, action: str = "submit") -> ItemOutcome:
    return ItemOutcome(index=index, action=action, ref=ref, outcome="rejected", reason="not_verified",
                       response_code=ResponseCode.NOT_VERIFIED, description=NOT_VERIFIED)  # fmt: skip


def refused(index: int, ref: str, action: str = "submit") -> ItemOutcome:
    return ItemOutcome(index=index, action=action, ref=ref, outcome="rejected", reason="too_many_attempts",
                       response_code=ResponseCode.NOT_VERIFIED, description=REFUSAL)  # fmt: skip


async def receipt(
    hub_db: FakeUnitOfWorkFactory, org: Organisation, body: dict[str, Any], kind: str
) -> list[ItemOutcome]:
    await send(hub_db, org, body, kind)
    return last_receipt(hub_db, org).items


async def fail_submissions(hub_db: FakeUnitOfWorkFactory, ao: Organisation, uln: str, times: int) -> None:
    """Submit `times` achievements with wrong dates of birth, one a message, each refused not_verified."""
    for born in wrong_birth_dates(times):
        ref = fresh_ref()
        assert await receipt(hub_db, ao, submit_body(uln, ref, date_of_birth=born), SUBMIT) == [not_verified(0, ref)]


# --- achievements ---------------------------------------------------------------------------


async def test_a_bulk_of_1000_birth_dates_does_not_reveal_the_right_one(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """Of 1,000 submissions with guessed dates of birth the first five are checked and fail; the rest,
    the right one among them, are refused alike, unchecked, and nothing is recorded."""
    births = wrong_birth_dates(999)
    births.insert(500, BORN.isoformat())
    refs = [fresh_ref() for _ in births]
    items = [submit_body(amelia.uln, ref, date_of_birth=born) for ref, born in zip(refs, births, strict=True)]
    answer = await receipt(hub_db, awarding, {"items": items}, BULK)
    checked = [not_verified(i, refs[i]) for i in range(ATTEMPT_LIMIT)]
    assert answer == checked + [refused(i, refs[i]) for i in range(ATTEMPT_LIMIT, 1000)]
    assert hub_db.state.events == {}


async def test_not_verified_names_no_field_and_no_unknown_uln(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """A wrong given name, family name or date of birth and a ULN nobody has get one and the same answer."""
    refs = [fresh_ref() for _ in range(4)]
    wrong: list[dict[str, Any]] = [{"given_name": "Grace"}, {"family_name": "Eze"}, {"date_of_birth": "2008-04-13"}]
    items = [submit_body(amelia.uln, ref, **w) for ref, w in zip(refs, wrong, strict=False)]
    items.append(submit_body(fresh_uln(), refs[3]))
    assert await receipt(hub_db, awarding, {"items": items}, BULK) == [not_verified(i, r) for i, r in enumerate(refs)]


async def test_failed_verifications_and_submissions_count_together(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """Three failed verifications and two failed submissions use up the limit: the right details are refused."""
    for born in wrong_birth_dates(3):
        await send(hub_db, awarding, verify_item(amelia.uln, date_of_birth=born), VerifyLearner.message_type)
    await fail_submissions(hub_db, awarding, amelia.uln, 2)
    ref = fresh_ref()
    assert await receipt(hub_db, awarding, submit_body(amelia.uln, ref), SUBMIT) == [refused(0, ref)]


async def test_an_amendment_past_the_limit_is_refused_and_changes_nothing(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """Once the sender failed five times, its amendment with the right details is refused unchecked; the grade stays."""
    ref = fresh_ref()
    await send(hub_db, awarding, submit_body(amelia.uln, ref), SUBMIT)
    await fail_submissions(hub_db, awarding, amelia.uln, ATTEMPT_LIMIT)
    amended = await receipt(hub_db, awarding, amend_body(amelia.uln, ref, 2, grade="8"), AMEND)
    assert amended == [refused(0, ref, "amend")]
    entry = entry_of(hub_db, awarding, EventKind.ACHIEVEMENT, ref)
    assert (entry.version, entry.fields["grade"]) == (1, "7")


def without_time(entries: list[AuditEntry]) -> list[AuditEntry]:
    return [dataclasses.replace(e, at=AT) for e in entries]


def attempt(org: Organisation, uln: str | None, decision: str, reason: str, fields: tuple[str, ...],
            cid: str) -> AuditEntry:  # fmt: skip
    return AuditEntry(at=AT, recipient=org.org_id, uln=uln, what="learner.verification", purpose="verification",
                      decision=decision, reason=reason, fields=fields, correlation_id=cid)  # fmt: skip


async def test_every_check_of_a_bulk_is_in_the_learners_audit_log(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, amelia: Learner
) -> None:
    """Verified, failed (naming the fields, for her) and refused checks are each an entry under her ULN,
    as verifications are; a ULN nobody has is under no learner, a bad check digit is no check."""
    await fail_submissions(hub_db, awarding, amelia.uln, ATTEMPT_LIMIT - 2)
    items = [submit_body(amelia.uln, fresh_ref()), submit_body(amelia.uln, fresh_ref(), given_name="Grace"),
             submit_body(fresh_uln(), fresh_ref()), submit_body("1234567890", fresh_ref()),
             submit_body(amelia.uln, fresh_ref(), date_of_birth="2008-04-13"),
             submit_body(amelia.uln, fresh_ref())]  # fmt: skip
    hub_db.state.audit.clear()
    _, message = await send(hub_db, awarding, {"items": items}, BULK)
    cid = message.message_id
    assert without_time(audited(hub_db, "learner.verification")) == [
        attempt(awarding, amelia.uln, "allowed", "verified WSRC0004", ("uln", "response_code"), cid),
        attempt(awarding, amelia.uln, "allowed", "not verified WSEC0208: given_name did not match",
                ("response_code",), cid),
        attempt(awarding, None, "allowed", "not verified WSEC0208", ("response_code",), cid),
        attempt(awarding, amelia.uln, "allowed", "not verified WSEC0208: date_of_birth did not match",
                ("response_code",), cid),
        attempt(awarding, amelia.uln, "refused", "too_many_attempts: not checked", (), cid),
    ]  # fmt: skip


# --- enrolments -----------------------------------------------------------------------------


async def test_an_enrolment_past_the_limit_is_refused_and_links_nobody(
    hub_db: FakeUnitOfWorkFactory, amelia: Learner
) -> None:
    """A provider that failed five enrolments for a learner is refused the sixth, with the right details,
    unchecked; it is not linked to her and nothing is recorded."""
    college = hub_db.add_organisation(provider())
    refs = [fresh_ref("E") for _ in range(ATTEMPT_LIMIT + 1)]
    births = [*wrong_birth_dates(ATTEMPT_LIMIT), BORN.isoformat()]
    answers = [
        await receipt(hub_db, college, enrolment_body(college, amelia.uln, ref, date_of_birth=born), PUBLISH)
        for ref, born in zip(refs, births, strict=True)
    ]
    assert answers == [[not_verified(0, r, "publish")] for r in refs[:-1]] + [[refused(0, refs[-1], "publish")]]
    assert (hub_db.state.events, hub_db.state.provider_links) == ({}, set())


# --- partners' record requests ----------------------------------------------------------------


def request(uln: str, **names: str) -> dict[str, Any]:
    return {"uln": uln, "given_name": "Amelia", "family_name": "Okafor", "purpose": PURPOSE} | names


async def record(hub_db: FakeUnitOfWorkFactory, org: Organisation, body: dict[str, Any]) -> PartnerRecord:
    await send(hub_db, org, body, RECORD_REQUEST)
    [*_, last] = received(hub_db, org, PartnerRecord)
    return last


UNVERIFIED = PartnerRecord(response_code=ResponseCode.NOT_VERIFIED, description="Learner could not be verified")
REFUSED = PartnerRecord(response_code=ResponseCode.NOT_VERIFIED, description=REFUSAL)


async def test_a_partner_guessing_names_is_refused_past_the_limit(
    hub_db: FakeUnitOfWorkFactory, amelia: Learner
) -> None:
    """Five record requests with wrong names, then the right ones: refused unchecked, nothing shared."""
    university = hub_db.add_organisation(partner())
    with_agreement(hub_db, university)
    names = ("Ann", "Amy", "Ava", "Ada", "Alma", "Amelia")
    answers = [await record(hub_db, university, request(amelia.uln, given_name=n)) for n in names]
    assert answers == [UNVERIFIED] * ATTEMPT_LIMIT + [REFUSED]
    assert hub_db.state.held == {}


async def test_not_nominated_is_answered_and_counted_as_no_such_learner(
    hub_db: FakeUnitOfWorkFactory, amelia: Learner
) -> None:
    """Under an agreement for nominating learners only, a learner who did not nominate the partner is
    answered as a ULN nobody has, and counted alike, so the answers and the limit tell nothing apart."""
    employer = hub_db.add_organisation(partner("Northgate Engineering"))
    with_agreement(hub_db, employer, scope=Scope.NOMINATED)
    nobody = fresh_uln()
    answers = [await record(hub_db, employer, request(uln)) for uln in [amelia.uln] * ATTEMPT_LIMIT + [nobody]]
    answers += [await record(hub_db, employer, request(nobody)) for _ in range(ATTEMPT_LIMIT - 1)]
    assert answers == [UNVERIFIED] * (2 * ATTEMPT_LIMIT)
    both = [await record(hub_db, employer, request(uln)) for uln in (amelia.uln, nobody)]
    assert both == [REFUSED, REFUSED]
    reasons = [(e.uln, e.reason) for e in audited(hub_db, "learner.verification")][:1]
    why = "not verified WSEC0208: the learner has not nominated the partner: answered as not verified"
    assert reasons == [(amelia.uln, why)]


async def test_a_nominating_learners_record_is_shared(hub_db: FakeUnitOfWorkFactory, amelia: Learner) -> None:
    """The same agreement shares the record of a learner who nominated the partner: WSRC0004 with her details."""
    employer = hub_db.add_organisation(partner("Northgate Engineering"))
    with_agreement(hub_db, employer, scope=Scope.NOMINATED)
    until = date.today() + timedelta(days=30)
    hub_db.state.consents[amelia.uln] = Consent(amelia.uln, 1, sharing=True, nominations={employer.org_id: until})
    answer = await record(hub_db, employer, request(amelia.uln))
    details = {"uln": amelia.uln, "given_name": "Amelia", "family_name": "Okafor", "date_of_birth": "2008-04-12"}
    assert (answer.response_code, [i.fields for i in answer.items]) == (ResponseCode.EXACT_MATCH, [details])

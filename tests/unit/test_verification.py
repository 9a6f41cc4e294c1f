"""Verifying learners (hub.records.verification) as awarding organisations ask it, through handle_inbound."""

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.codes import ResponseCode
from contracts.learner import MessageRejected, RejectionError
from contracts.plr import Verification, VerificationResult, VerifyLearner, VerifyLearners
from hub.kernel.model import Learner, LearnerStatus, Organisation
from hub.kernel.ports import AuditEntry, OutboundMessage
from hub.pipeline.routing import OUTBOUND_EXCHANGE

from .builders import awarding_organisation, details, fresh_uln, learner
from .fakes import FakeUnitOfWorkFactory
from .plr_builders import audited, outbound_to, send, verify_item

VERIFY = VerifyLearner.message_type
VERIFY_BATCH = VerifyLearners.message_type
AT = datetime(2026, 11, 29, 10, 30, tzinfo=UTC)


@pytest.fixture
def awarding(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    """An awarding organisation known to the register."""
    return hub_db.add_organisation(awarding_organisation())


def verified(uln: str, index: int = 0, ref: str | None = None) -> VerificationResult:
    return VerificationResult(
        index=index, ref=ref, supplied_uln=uln, response_code=ResponseCode.EXACT_MATCH, description="Exact match",
        uln=uln,
    )  # fmt: skip


def not_verified(uln: str, index: int = 0) -> VerificationResult:
    return VerificationResult(
        index=index, supplied_uln=uln, response_code=ResponseCode.NOT_VERIFIED,
        description="Learner could not be verified",
    )  # fmt: skip


async def verify_one(hub_db: FakeUnitOfWorkFactory, awarding: Organisation, **item: Any) -> VerificationResult:
    """Send learner.verify.v1 and return the one result of the one answer it got."""
    await send(hub_db, awarding, item, VERIFY)
    [answer] = outbound_to(hub_db, awarding)
    assert answer.message_type == Verification.message_type
    verification = Verification.model_validate(answer.body)
    assert verification.request_type == VERIFY
    [result] = verification.items
    return result


def without_time(entries: list[AuditEntry]) -> list[AuditEntry]:
    return [dataclasses.replace(e, at=AT) for e in entries]


# --- one learner ----------------------------------------------------------------------------


async def test_exact_match_is_answered_wsrc0004_on_the_aos_queue(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """A ULN with the learner's names verifies: WSRC0004 and the ULN, to the AO, correlated, and audited."""
    amelia = hub_db.add_learner(learner())
    _, message = await send(hub_db, awarding, verify_item(amelia.uln, ref="CAND-0042"), VERIFY)
    expected = Verification(request_type=VERIFY, items=[verified(amelia.uln, ref="CAND-0042")])
    assert hub_db.state.outbox == [
        OutboundMessage(
            OUTBOUND_EXCHANGE,
            awarding.org_id,
            Verification.message_type,
            expected.model_dump(mode="json"),
            message.message_id,
        )
    ]
    assert without_time(hub_db.state.audit) == [
        AuditEntry(
            at=AT, recipient=awarding.org_id, uln=amelia.uln, what="learner.verification", purpose="verification",
            decision="allowed", reason="verified WSRC0004", fields=("uln", "response_code"),
            correlation_id=message.message_id,
        )
    ]  # fmt: skip


async def test_linked_uln_is_answered_with_its_master(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """A linked ULN verifies against its master and is answered WSRC0022 with the master's ULN."""
    master = hub_db.add_learner(learner())
    linked = hub_db.add_learner(Learner(fresh_uln(), details(), status=LearnerStatus.LINKED, master_uln=master.uln))
    result = await verify_one(hub_db, awarding, **verify_item(linked.uln))
    assert result == VerificationResult(
        index=0,
        supplied_uln=linked.uln,
        response_code=ResponseCode.LINKED_LEARNER,
        description="Linked learner: master record substituted",
        uln=master.uln,
    )
    assert [e.uln for e in audited(hub_db, "learner.verification")] == [master.uln]


async def test_linked_uln_verifies_with_the_names_it_was_issued_with(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """Names that fit only the linked (duplicate) record, not its master, verify as find_by_uln accepts
    them: WSRC0022 with the master's ULN."""
    master = hub_db.add_learner(learner(given_name="Grace"))
    linked = hub_db.add_learner(Learner(fresh_uln(), details(), status=LearnerStatus.LINKED, master_uln=master.uln))
    assert await verify_one(hub_db, awarding, **verify_item(linked.uln)) == VerificationResult(
        index=0, supplied_uln=linked.uln, response_code=ResponseCode.LINKED_LEARNER,
        description="Linked learner: master record substituted", uln=master.uln,
    )  # fmt: skip


async def test_linked_uln_with_names_of_neither_record_is_not_verified(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """Names that fit neither the linked record nor its master do not verify."""
    master = hub_db.add_learner(learner(given_name="Grace"))
    linked = hub_db.add_learner(Learner(fresh_uln(), details(), status=LearnerStatus.LINKED, master_uln=master.uln))
    assert await verify_one(hub_db, awarding, **verify_item(linked.uln, given_name="Ruth")) == not_verified(linked.uln)


async def test_the_master_uln_does_not_verify_with_a_linked_records_names(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """The linked record's names verify only through the linked ULN, not through the master's own."""
    master = hub_db.add_learner(learner(given_name="Grace"))
    hub_db.add_learner(Learner(fresh_uln(), details(), status=LearnerStatus.LINKED, master_uln=master.uln))
    assert await verify_one(hub_db, awarding, **verify_item(master.uln)) == not_verified(master.uln)


@pytest.mark.parametrize(
    "names",
    [
        {"given_name": "Amelie"},
        {"family_name": "Okafur"},
        {"given_name": "Okafor", "family_name": "Amelia"},  # swapped: not the same claim
    ],
)
async def test_names_that_differ_are_not_verified(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, names: dict[str, str]
) -> None:
    """A name that does not agree with the register is WSEC0208, no ULN is given back, and the
    attempt is in the learner's audit log."""
    amelia = hub_db.add_learner(learner())
    assert await verify_one(hub_db, awarding, **verify_item(amelia.uln, **names)) == not_verified(amelia.uln)
    assert [e.uln for e in audited(hub_db, "learner.verification")] == [amelia.uln]


async def test_unknown_uln_is_not_verified(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """A valid ULN nobody has is WSEC0208, the same answer as a wrong name (nothing learned of the register)."""
    nobody = fresh_uln()
    assert await verify_one(hub_db, awarding, **verify_item(nobody)) == not_verified(nobody)


async def test_uln_failing_its_check_digit_is_wsec0136(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """1234567890 has the shape of a ULN but the wrong check digit: WSEC0136."""
    result = await verify_one(hub_db, awarding, **verify_item("1234567890"))
    assert result == VerificationResult(
        index=0, supplied_uln="1234567890", response_code=ResponseCode.INVALID_ULN, description="Supplied ULN invalid"
    )


async def test_names_are_compared_ignoring_case_accents_and_punctuation(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """'AMÉLIA' and 'o'kafor' are Amelia Okafor as far as verification goes."""
    amelia = hub_db.add_learner(learner())
    result = await verify_one(hub_db, awarding, **verify_item(amelia.uln, given_name="AMÉLIA", family_name="o'kafor"))
    assert result == verified(amelia.uln)


@pytest.mark.parametrize(
    ("registered", "claimed"),
    [
        ({"previous_family_name": "Adeyemi"}, {"family_name": "Adeyemi"}),
        ({"family_name_at_age_16": "Adeyemi"}, {"family_name": "Adeyemi"}),
        ({"preferred_given_name": "Mia"}, {"given_name": "Mia"}),
    ],
)
async def test_former_family_names_and_the_preferred_given_name_verify(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, registered: dict[str, Any], claimed: dict[str, str]
) -> None:
    """An exam entry under a previous family name or a preferred given name still verifies exactly."""
    amelia = hub_db.add_learner(learner(**registered))
    assert await verify_one(hub_db, awarding, **verify_item(amelia.uln, **claimed)) == verified(amelia.uln)


async def test_middle_name_is_not_a_given_name(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """Only the given or preferred given name count: a middle name given as the given name does not verify."""
    amelia = hub_db.add_learner(learner(middle_other_name="Grace"))
    assert await verify_one(hub_db, awarding, **verify_item(amelia.uln, given_name="Grace")) == not_verified(amelia.uln)


@pytest.mark.parametrize(
    ("claim", "is_verified"),
    [
        ({"date_of_birth": "2008-04-12"}, True),
        ({"date_of_birth": "2008-12-04"}, False),  # day and month swapped: still another date
        ({"gender": 2}, True),
        ({"gender": 1}, False),
        ({"gender": 0}, True),  # not known: says nothing against her
        ({"gender": 9}, True),  # not specified: likewise
        ({"date_of_birth": "2008-04-12", "gender": 1}, False),
    ],
)
async def test_birth_date_and_gender_must_agree_when_sent(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation, claim: dict[str, Any], is_verified: bool
) -> None:
    """A date of birth or a known gender that disagrees with the register is WSEC0208."""
    amelia = hub_db.add_learner(learner())
    result = await verify_one(hub_db, awarding, **verify_item(amelia.uln, **claim))
    assert result == (verified(amelia.uln) if is_verified else not_verified(amelia.uln))


async def test_registered_gender_not_known_accepts_any_gender(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """A learner registered with gender 0 (not known) verifies whatever gender the AO sends."""
    amelia = hub_db.add_learner(learner(gender=0))
    assert await verify_one(hub_db, awarding, **verify_item(amelia.uln, gender=1)) == verified(amelia.uln)


# --- who may ask ----------------------------------------------------------------------------


async def test_provider_may_not_verify(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A learning provider sending learner.verify.v1 is refused as sender_not_allowed and verifies nothing."""
    amelia = hub_db.add_learner(learner())
    _, message = await send(hub_db, college, verify_item(amelia.uln), VERIFY)
    rejection = MessageRejected(
        reason="sender_not_allowed",
        request_type=VERIFY,
        errors=[RejectionError(loc="", message="an organisation of kind provider may not send learner.verify.v1")],
    )
    assert hub_db.state.outbox == [
        OutboundMessage(
            OUTBOUND_EXCHANGE,
            college.org_id,
            MessageRejected.message_type,
            rejection.model_dump(mode="json"),
            message.message_id,
        )
    ]
    assert audited(hub_db, "learner.verification") == []


async def test_provider_may_not_verify_a_batch(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A learning provider sending learner.verify_batch.v1 is refused likewise."""
    amelia = hub_db.add_learner(learner())
    await send(hub_db, college, {"items": [verify_item(amelia.uln)]}, VERIFY_BATCH)
    [answer] = outbound_to(hub_db, college)
    assert (answer.message_type, answer.body["reason"]) == (MessageRejected.message_type, "sender_not_allowed")


async def test_single_verify_with_a_malformed_uln_is_rejected_whole(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """A single verify whose ULN is not 10 digits is not a valid message: invalid_contract at uln."""
    await send(hub_db, awarding, verify_item("12345"), VERIFY)
    [answer] = outbound_to(hub_db, awarding)
    rejection = MessageRejected.model_validate(answer.body)
    assert (rejection.reason, [e.loc for e in rejection.errors]) == ("invalid_contract", ["uln"])


# --- a batch --------------------------------------------------------------------------------


async def test_batch_answers_every_item_in_order_in_one_message(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """A batch of an exact match, a linked ULN, a wrong name, an unknown ULN and a bad check digit gets one answer."""
    amelia = hub_db.add_learner(learner())
    linked = hub_db.add_learner(Learner(fresh_uln(), details(), status=LearnerStatus.LINKED, master_uln=amelia.uln))
    nobody = fresh_uln()
    items = [
        verify_item(amelia.uln, ref="C-1"),
        verify_item(linked.uln, ref="C-2"),
        verify_item(amelia.uln, given_name="Grace", ref="C-3"),
        verify_item(nobody, ref="C-4"),
        verify_item("1234567890", ref="C-5"),
    ]
    _, message = await send(hub_db, awarding, {"items": items}, VERIFY_BATCH)
    expected = Verification(
        request_type=VERIFY_BATCH,
        items=[
            verified(amelia.uln, 0, "C-1"),
            VerificationResult(
                index=1, ref="C-2", supplied_uln=linked.uln, response_code=ResponseCode.LINKED_LEARNER,
                description="Linked learner: master record substituted", uln=amelia.uln,
            ),
            not_verified(amelia.uln, 2).model_copy(update={"ref": "C-3"}),
            not_verified(nobody, 3).model_copy(update={"ref": "C-4"}),
            VerificationResult(
                index=4, ref="C-5", supplied_uln="1234567890", response_code=ResponseCode.INVALID_ULN,
                description="Supplied ULN invalid",
            ),
        ],
    )  # fmt: skip
    assert hub_db.state.outbox == [
        OutboundMessage(
            OUTBOUND_EXCHANGE,
            awarding.org_id,
            Verification.message_type,
            expected.model_dump(mode="json"),
            message.message_id,
        )
    ]
    entries = audited(hub_db, "learner.verification")
    assert [e.uln for e in entries] == [amelia.uln, amelia.uln, amelia.uln, None, None]
    assert {(e.recipient, e.decision, e.correlation_id) for e in entries} == {
        (awarding.org_id, "allowed", message.message_id)
    }


async def test_malformed_uln_in_a_batch_is_wsec0136_for_that_item_only(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """A ULN of the wrong shape inside a batch is answered WSEC0136 on its own; the other items are verified."""
    amelia, grace = hub_db.add_learner(learner()), hub_db.add_learner(learner(given_name="Grace"))
    items = [verify_item(amelia.uln), verify_item("12345", ref="C-2"), verify_item(grace.uln, given_name="Grace")]
    await send(hub_db, awarding, {"items": items}, VERIFY_BATCH)
    [answer] = outbound_to(hub_db, awarding)
    assert Verification.model_validate(answer.body) == Verification(
        request_type=VERIFY_BATCH,
        items=[
            verified(amelia.uln, 0),
            VerificationResult(
                index=1,
                ref="C-2",
                supplied_uln="12345",
                response_code=ResponseCode.INVALID_ULN,
                description="Supplied ULN invalid",
                errors=[RejectionError(loc="uln", message="String should match pattern '^[1-9][0-9]{9}$'")],
            ),
            verified(grace.uln, 2),
        ],
    )
    assert [e.uln for e in audited(hub_db, "learner.verification")] == [amelia.uln, None, grace.uln]


async def test_item_malformed_otherwise_is_answered_with_its_errors(
    hub_db: FakeUnitOfWorkFactory, awarding: Organisation
) -> None:
    """An item without a family name has no response code, only its errors; the rest are verified."""
    amelia = hub_db.add_learner(learner())
    items = [{"uln": amelia.uln, "given_name": "Amelia"}, verify_item(amelia.uln)]
    await send(hub_db, awarding, {"items": items}, VERIFY_BATCH)
    [answer] = outbound_to(hub_db, awarding)
    assert Verification.model_validate(answer.body).items == [
        VerificationResult(
            index=0,
            supplied_uln=amelia.uln,
            response_code=None,
            description="the item is not valid",
            errors=[RejectionError(loc="family_name", message="Field required")],
        ),
        verified(amelia.uln, 1),
    ]


async def test_batch_of_5000_is_verified(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """5,000 learners, the LRS's limit, are verified in one message, each audited."""
    amelia = hub_db.add_learner(learner())
    await send(hub_db, awarding, {"items": [verify_item(amelia.uln)] * 5000}, VERIFY_BATCH)
    [answer] = outbound_to(hub_db, awarding)
    results = Verification.model_validate(answer.body).items
    assert [r.response_code for r in results] == [ResponseCode.EXACT_MATCH] * 5000
    assert [r.index for r in results] == list(range(5000))
    assert len(audited(hub_db, "learner.verification")) == 5000


async def test_batch_over_5000_is_refused_whole(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """5,001 learners in one message are refused as invalid_contract at items; none is verified or audited."""
    amelia = hub_db.add_learner(learner())
    handled, message = await send(hub_db, awarding, {"items": [verify_item(amelia.uln)] * 5001}, VERIFY_BATCH)
    rejection = MessageRejected(
        reason="invalid_contract",
        request_type=VERIFY_BATCH,
        errors=[RejectionError(loc="items", message="List should have at most 5000 items after validation, not 5001")],
    )
    assert hub_db.state.outbox == [
        OutboundMessage(
            OUTBOUND_EXCHANGE,
            awarding.org_id,
            MessageRejected.message_type,
            rejection.model_dump(mode="json"),
            message.message_id,
        )
    ]
    assert handled.dead_letter_reason is not None
    assert audited(hub_db, "learner.verification") == []


async def test_empty_batch_is_refused(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """A batch with no items is refused as invalid_contract at items."""
    await send(hub_db, awarding, {"items": []}, VERIFY_BATCH)
    [answer] = outbound_to(hub_db, awarding)
    rejection = MessageRejected.model_validate(answer.body)
    assert (rejection.reason, [e.loc for e in rejection.errors]) == ("invalid_contract", ["items"])


async def test_verifying_changes_nothing_in_the_register(hub_db: FakeUnitOfWorkFactory, awarding: Organisation) -> None:
    """Verification reads only: no learner changes, no provider link, no event on lrs.events."""
    amelia = hub_db.add_learner(learner())
    before = dict(hub_db.state.learners)
    await send(hub_db, awarding, {"items": [verify_item(amelia.uln)]}, VERIFY_BATCH)
    assert (hub_db.state.learners, hub_db.state.provider_links, hub_db.state.events) == (before, set(), {})
    assert [m.exchange for m in hub_db.state.outbox] == [OUTBOUND_EXCHANGE]

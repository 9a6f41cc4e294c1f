"""hub.pipeline.inbound.handle_inbound: validation, sender checks, exactly-once handling, batch rows."""

import hashlib
from datetime import date
from typing import Any

import pytest

from contracts.codes import ResponseCode
from contracts.learner import (
    FindLearnerByUln,
    LearnerAnswer,
    LearnerRegistered,
    LearnerView,
    MessageRejected,
    RegisterLearner,
    RejectionError,
)
from hub.kernel.errors import TransientError
from hub.kernel.model import Organisation, OrganisationStatus
from hub.kernel.ports import BatchRowOutcome, InboxRecord, OutboundMessage
from hub.pipeline.batch_rows import mis_identifier_of
from hub.pipeline.inbound import BatchRef, Handled, handle_batch, handle_inbound
from hub.pipeline.routing import EVENTS_EXCHANGE, OUTBOUND_EXCHANGE

from .builders import awarding_organisation, inbound, learner, provider, register_body
from .fakes import FakeUnitOfWorkFactory

REGISTER = RegisterLearner.message_type


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def outbound(hub_db: FakeUnitOfWorkFactory) -> list[OutboundMessage]:
    return [m for m in hub_db.state.outbox if m.exchange == OUTBOUND_EXCHANGE]


async def send_bad(
    hub_db: FakeUnitOfWorkFactory, sender: Organisation, body: Any, message_type: str | None = REGISTER, **kw: Any
) -> tuple[Handled, MessageRejected]:
    """Send one bad message; check that a rejection to the sender is all that came of it."""
    message = inbound(sender.org_id, body, message_type, **kw)
    handled = await handle_inbound(hub_db, message)
    [answer] = hub_db.state.outbox
    assert (answer.exchange, answer.routing_key, answer.message_type, answer.correlation_id) == (
        OUTBOUND_EXCHANGE,
        sender.org_id,
        MessageRejected.message_type,
        message.message_id or None,  # no message_id, nothing to correlate with
    )
    assert hub_db.state.learners == {}
    assert hub_db.state.provider_links == set()
    rejection = MessageRejected.model_validate(answer.body)
    assert handled.dead_letter_reason is not None
    assert handled.dead_letter_reason.startswith(f"{rejection.reason}: ")
    return handled, rejection


def locs(rejection: MessageRejected) -> list[str]:
    return [e.loc for e in rejection.errors]


# --- good path --------------------------------------------------------------------------


async def test_registration_answers_the_sender_and_raises_the_event(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A good registration queues the sender's answer, correlated with the request, and a LearnerRegistered event."""
    message = inbound(college.org_id, register_body(college.org_id))
    handled = await handle_inbound(hub_db, message)
    assert handled == Handled(answer_code="WSRC0005", uln=handled.uln)
    assert handled.uln is not None
    answer = LearnerAnswer(
        request_type=REGISTER,
        response_code=ResponseCode.LEARNER_REGISTERED,
        description="Learner registered with a new ULN",
        uln=handled.uln,
        learner=LearnerView(
            uln=handled.uln,
            version=1,
            given_name="Amelia",
            family_name="Okafor",
            date_of_birth="2008-04-12",
            gender=2,
            last_known_postcode="SW1A 1AA",
        ),
    )
    event = LearnerRegistered(uln=handled.uln, registered_by=college.org_id)
    assert hub_db.state.outbox == [
        OutboundMessage(
            OUTBOUND_EXCHANGE,
            college.org_id,
            LearnerAnswer.message_type,
            answer.model_dump(mode="json"),
            message.message_id,
        ),
        OutboundMessage(EVENTS_EXCHANGE, event.message_type, event.message_type, event.model_dump(mode="json")),
    ]
    assert hub_db.state.inbox == {message.inbox_key: InboxRecord(sha(message.body), None)}


# --- bad input ----------------------------------------------------------------------------


async def test_malformed_json_is_rejected(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A body that is not JSON is rejected as malformed_json."""
    handled, rejection = await send_bad(hub_db, college, b'{"ukprn": ')
    assert (rejection.reason, rejection.request_type, locs(rejection)) == ("malformed_json", REGISTER, [""])
    assert handled.dead_letter_reason is not None and "body is not JSON" in handled.dead_letter_reason


async def test_body_that_is_not_utf8_is_rejected_as_malformed(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A body of bytes that are not UTF-8 is rejected as malformed_json, not a crash."""
    _, rejection = await send_bad(hub_db, college, b"\xff\xfe{}")
    assert rejection.reason == "malformed_json"


async def test_wrong_types_are_rejected_naming_the_fields(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A number for a name and a word for a date are rejected as invalid_contract at those fields."""
    body = register_body(college.org_id, given_name=123, date_of_birth="twelfth of April")
    handled, rejection = await send_bad(hub_db, college, body)
    assert (rejection.reason, locs(rejection)) == ("invalid_contract", ["learner.given_name", "learner.date_of_birth"])
    assert handled.dead_letter_reason is not None and "learner.given_name" in handled.dead_letter_reason


async def test_oversized_field_is_rejected(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A given name of 36 characters is rejected at learner.given_name with the length limit."""
    _, rejection = await send_bad(hub_db, college, register_body(college.org_id, given_name="A" * 36))
    assert rejection == MessageRejected(
        reason="invalid_contract",
        request_type=REGISTER,
        errors=[RejectionError(loc="learner.given_name", message="String should have at most 35 characters")],
    )


async def test_unknown_code_value_is_rejected(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """Gender 5 is not in the code list and is rejected at learner.gender."""
    _, rejection = await send_bad(hub_db, college, register_body(college.org_id, gender=5))
    assert (rejection.reason, locs(rejection)) == ("invalid_contract", ["learner.gender"])


async def test_boolean_for_a_code_is_rejected(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A JSON boolean where a gender code belongs is rejected, not read as 1 (male)."""
    _, rejection = await send_bad(hub_db, college, register_body(college.org_id, gender=True))
    assert (rejection.reason, locs(rejection)) == ("invalid_contract", ["learner.gender"])


async def test_uln_not_matching_the_pattern_is_rejected(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A ULN starting with 0 is rejected at uln before any lookup."""
    body = {"ukprn": college.org_id, "uln": "0123456789", "given_name": "Amelia", "family_name": "Okafor"}
    _, rejection = await send_bad(hub_db, college, body, FindLearnerByUln.message_type)
    assert (rejection.reason, rejection.request_type, locs(rejection)) == (
        "invalid_contract",
        FindLearnerByUln.message_type,
        ["uln"],
    )


async def test_unknown_field_is_rejected(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A field the contract does not have is rejected rather than ignored."""
    body = register_body(college.org_id) | {"favourite_colour": "teal"}
    _, rejection = await send_bad(hub_db, college, body)
    assert rejection == MessageRejected(
        reason="invalid_contract",
        request_type=REGISTER,
        errors=[RejectionError(loc="favourite_colour", message="Extra inputs are not permitted")],
    )


async def test_unknown_message_type_is_rejected(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A message type no contract is named after is rejected as unknown_message_type."""
    handled, rejection = await send_bad(hub_db, college, register_body(college.org_id), "learner.delete.v1")
    assert rejection == MessageRejected(
        reason="unknown_message_type",
        request_type="learner.delete.v1",
        errors=[RejectionError(loc="type", message="no contract is named 'learner.delete.v1'")],
    )
    assert handled.dead_letter_reason == "unknown_message_type: type no contract is named 'learner.delete.v1'"


async def test_unknown_sender_gets_no_answer(hub_db: FakeUnitOfWorkFactory) -> None:
    """A sender not in the register is dead-lettered with a reason and answered nothing."""
    message = inbound("99999999", register_body("99999999"))
    handled = await handle_inbound(hub_db, message)
    assert handled == Handled("unknown sender '99999999'")
    assert (hub_db.state.outbox, hub_db.state.audit, hub_db.state.learners) == ([], [], {})
    assert hub_db.state.inbox == {message.inbox_key: InboxRecord(sha(message.body), "unknown sender '99999999'")}


async def test_message_without_user_id_gets_no_answer(hub_db: FakeUnitOfWorkFactory) -> None:
    """A message with no sender at all is dead-lettered and answered nothing."""
    handled = await handle_inbound(hub_db, inbound(None, register_body("10030488"), routing_key=""))
    assert (handled, hub_db.state.outbox) == (Handled("unknown sender None"), [])


async def test_suspended_sender_is_not_allowed(hub_db: FakeUnitOfWorkFactory) -> None:
    """A suspended provider's request is refused as sender_not_allowed."""
    suspended = hub_db.add_organisation(provider(OrganisationStatus.SUSPENDED))
    _, rejection = await send_bad(hub_db, suspended, register_body(suspended.org_id))
    assert rejection == MessageRejected(
        reason="sender_not_allowed",
        request_type=REGISTER,
        errors=[RejectionError(loc="", message="the sending organisation is suspended")],
    )


async def test_awarding_organisation_may_not_register_learners(hub_db: FakeUnitOfWorkFactory) -> None:
    """An awarding organisation sending a learner registration is refused as sender_not_allowed."""
    awarding = hub_db.add_organisation(awarding_organisation())
    _, rejection = await send_bad(hub_db, awarding, register_body(awarding.org_id))
    assert (rejection.reason, rejection.request_type, locs(rejection)) == ("sender_not_allowed", REGISTER, [""])


async def test_body_ukprn_of_another_org_is_a_sender_mismatch(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A body claiming another provider's UKPRN is refused as sender_mismatch at ukprn."""
    _, rejection = await send_bad(hub_db, college, register_body("10000001"))
    assert rejection == MessageRejected(
        reason="sender_mismatch",
        request_type=REGISTER,
        errors=[RejectionError(loc="ukprn", message="ukprn in the body is not the sending organisation")],
    )


async def test_routing_key_of_another_org_is_a_sender_mismatch(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A message published under another organisation's routing key is refused as sender_mismatch."""
    body = register_body(college.org_id)
    _, rejection = await send_bad(hub_db, college, body, routing_key=f"10000001.{REGISTER}")
    assert (rejection.reason, locs(rejection)) == ("sender_mismatch", ["routing_key"])


async def test_missing_message_id_is_rejected_and_not_remembered(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A message without message_id is rejected as invalid_contract and leaves no inbox row."""
    handled, rejection = await send_bad(hub_db, college, register_body(college.org_id), message_id="")
    assert (rejection.reason, locs(rejection)) == ("invalid_contract", ["message_id"])
    assert handled.dead_letter_reason == "invalid_contract: message_id message_id property is required"
    assert hub_db.state.inbox == {}


# --- exactly once ---------------------------------------------------------------------------


async def test_redelivery_is_skipped_without_a_second_answer(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """The same message delivered twice is handled once: the second is a duplicate with no new answer."""
    message = inbound(college.org_id, register_body(college.org_id))
    await handle_inbound(hub_db, message)
    outbox_after_first = list(hub_db.state.outbox)
    assert await handle_inbound(hub_db, message) == Handled(duplicate=True)
    assert (hub_db.state.outbox, len(hub_db.state.learners)) == (outbox_after_first, 1)


async def test_redelivery_of_a_rejected_message_repeats_its_reason_only(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A rejected message delivered again is a duplicate carrying the first reason, with no second rejection."""
    message = inbound(college.org_id, register_body(college.org_id, gender=5))
    first = await handle_inbound(hub_db, message)
    again = await handle_inbound(hub_db, message)
    assert (again, len(hub_db.state.outbox)) == (Handled(first.dead_letter_reason, duplicate=True), 1)


async def test_reused_message_id_with_another_body_is_rejected(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A second, different message under a used message_id is refused as duplicate_message_id and not applied."""
    first = inbound(college.org_id, register_body(college.org_id))
    await handle_inbound(hub_db, first)
    second = inbound(college.org_id, register_body(college.org_id, given_name="Grace"), message_id=first.message_id)
    handled = await handle_inbound(hub_db, second)
    rejection = MessageRejected.model_validate(outbound(hub_db)[-1].body)
    assert rejection == MessageRejected(
        reason="duplicate_message_id",
        errors=[RejectionError(loc="", message="message_id was already used for a different message")],
    )
    assert handled.dead_letter_reason == "duplicate_message_id: message_id was already used for a different message"
    assert len(hub_db.state.learners) == 1
    assert hub_db.state.inbox == {first.inbox_key: InboxRecord(sha(first.body), None)}


async def test_another_senders_message_id_is_no_duplicate_of_mine(hub_db: FakeUnitOfWorkFactory) -> None:
    """Message ids are per sender: another organisation sending first with my message_id (even my
    exact bytes) neither blocks nor swallows my request."""
    victim, attacker = provider(), provider()
    hub_db.add_organisation(victim)
    hub_db.add_organisation(attacker)
    mine = inbound(victim.org_id, register_body(victim.org_id))
    await handle_inbound(hub_db, inbound(attacker.org_id, register_body(attacker.org_id), message_id=mine.message_id))
    await handle_inbound(hub_db, inbound(attacker.org_id, mine.body, message_id=mine.message_id))  # exact bytes
    handled = await handle_inbound(hub_db, mine)
    assert (handled.dead_letter_reason, handled.duplicate, handled.answer_code) == (None, False, "WSRC0004")
    assert outbound(hub_db)[-1].routing_key == victim.org_id


async def test_replay_after_the_sender_was_registered_is_handled_afresh(hub_db: FakeUnitOfWorkFactory) -> None:
    """A dead letter from a then-unknown sender, replayed once the sender is registered, is handled normally."""
    college = provider()
    message = inbound(college.org_id, register_body(college.org_id))
    await handle_inbound(hub_db, message)
    hub_db.add_organisation(college)
    assert await handle_inbound(hub_db, message) == Handled("unknown sender " + repr(college.org_id), duplicate=True)
    replay = inbound(college.org_id, register_body(college.org_id), message_id=message.message_id, replay=True)
    handled = await handle_inbound(hub_db, replay)
    assert (handled.answer_code, handled.duplicate, list(hub_db.state.learners)) == ("WSRC0005", False, [handled.uln])
    assert hub_db.state.inbox == {message.inbox_key: InboxRecord(sha(message.body), None)}


async def test_replay_of_a_handled_message_is_still_a_duplicate(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """Replaying a message that was handled successfully does not apply it twice."""
    message = inbound(college.org_id, register_body(college.org_id))
    await handle_inbound(hub_db, message)
    replay = inbound(college.org_id, register_body(college.org_id), message_id=message.message_id, replay=True)
    assert await handle_inbound(hub_db, replay) == Handled(duplicate=True)
    assert len(outbound(hub_db)) == 1


async def test_fault_midway_leaves_nothing_and_a_retry_succeeds(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A fault after the learner was added rolls everything back, so the retried message is handled once."""
    message = inbound(college.org_id, register_body(college.org_id))
    hub_db.faults["outbox.add"] = TransientError("database went away")
    with pytest.raises(TransientError):
        await handle_inbound(hub_db, message)
    assert (hub_db.state.learners, hub_db.state.inbox, hub_db.state.outbox, hub_db.state.audit) == ({}, {}, [], [])
    del hub_db.faults["outbox.add"]
    handled = await handle_inbound(hub_db, message)
    assert (handled.answer_code, len(hub_db.state.learners)) == ("WSRC0005", 1)


# --- batch rows ------------------------------------------------------------------------------


async def test_good_batch_row_records_its_return_code_and_echoes_headers(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A batch row that registers a learner records RC001 with its MIS id, and its answer carries the batch headers."""
    batch = BatchRef(f"LRB_{college.org_id}_291120261030", row_number=1, total_rows=2)
    body = register_body(college.org_id) | {"mis_identifier": "MIS-0042"}
    handled = await handle_inbound(hub_db, inbound(college.org_id, body, batch=batch))
    assert hub_db.state.batch_rows == [
        BatchRowOutcome(
            batch.batch_id,
            college.org_id,
            1,
            2,
            "RC001",
            "WSRC0005",
            handled.uln,
            "Learner registered with a new ULN",
            "MIS-0042",
        ),
    ]
    assert [m.headers for m in outbound(hub_db)] == [batch.headers()]


async def test_rejected_batch_row_records_rc011_and_echoes_headers(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A batch row that fails validation records RC011 with the reason, and its rejection carries the batch headers."""
    batch = BatchRef(f"LRB_{college.org_id}_291120261030", row_number=2, total_rows=2)
    message = inbound(college.org_id, register_body(college.org_id, gender=5), batch=batch)
    handled = await handle_inbound(hub_db, message)
    assert hub_db.state.batch_rows == [
        BatchRowOutcome(batch.batch_id, college.org_id, 2, 2, "RC011", None, None, handled.dead_letter_reason or "")
    ]
    assert [m.headers for m in outbound(hub_db)] == [batch.headers()]


async def test_row_refused_for_a_contract_error_keeps_its_mis_identifier(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A batch row refused for a bad gender still records the MISIdentifier it carried, for the output file."""
    batch = BatchRef(f"LRB_{college.org_id}_291120261030", row_number=5, total_rows=7)
    body = register_body(college.org_id, gender=5) | {"mis_identifier": "STU-105"}
    handled = await handle_inbound(hub_db, inbound(college.org_id, body, batch=batch))
    reason = handled.dead_letter_reason or ""
    assert hub_db.state.batch_rows == [
        BatchRowOutcome(batch.batch_id, college.org_id, 5, 7, "RC011", None, None, reason, mis_identifier="STU-105")
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"mis_identifier": 105}',
        b'{"mis_identifier": "' + b"x" * 129 + b'"}',
        b'{"mis_identifier": "STU\\u0000105"}',
        b'{"mis_identifier": "   "}',
    ],
    ids=["malformed", "a number", "too long", "a control character", "blank"],
)
async def test_row_refused_with_an_unusable_mis_identifier_records_none(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, body: bytes
) -> None:
    """A refused batch row whose MISIdentifier is not a sane one (or whose body does not parse) records none."""
    batch = BatchRef(f"LRB_{college.org_id}_291120261030", row_number=1, total_rows=1)
    await handle_inbound(hub_db, inbound(college.org_id, body, batch=batch))
    assert [(r.return_code, r.mis_identifier) for r in hub_db.state.batch_rows] == [("RC011", None)]


async def test_batch_row_outside_the_age_range_records_rc013(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A batch row for a ten-year-old records RC013, the LRS code for the age range."""
    batch = BatchRef(f"LRB_{college.org_id}_291120261030", row_number=1, total_rows=1)
    # handle_inbound takes today from the clock, so the birth date follows it.
    young = register_body(college.org_id, date_of_birth=f"{date.today().year - 10}-01-01")
    await handle_inbound(hub_db, inbound(college.org_id, young, batch=batch))
    assert [(r.return_code, r.response_code) for r in hub_db.state.batch_rows] == [("RC013", "WSRC0015")]


async def test_row_of_another_orgs_batch_is_a_sender_mismatch(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A row claiming a batch file named for another provider is refused as sender_mismatch at batch."""
    batch = BatchRef("LRB_10000001_291120261030", row_number=1, total_rows=1)
    _, rejection = await send_bad(hub_db, college, register_body(college.org_id), batch=batch)
    assert rejection == MessageRejected(
        reason="sender_mismatch",
        request_type=REGISTER,
        errors=[RejectionError(loc="batch", message="the batch file is not the sender's")],
    )


async def test_row_of_another_orgs_batch_writes_nothing_into_that_batch(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A row refused for claiming another provider's batch leaves that batch's outcomes untouched."""
    batch = BatchRef("LRB_10000001_291120261030", row_number=1, total_rows=1)
    await handle_inbound(hub_db, inbound(college.org_id, register_body(college.org_id), batch=batch))
    assert hub_db.state.batch_rows == []


_SOMEONE_ELSE = {
    "given_name": "Zara",
    "family_name": "Mwangi",
    "date_of_birth": "2010-01-01",
    "last_known_postcode": "LS1 4AP",
}


async def test_a_faulting_message_costs_the_others_handled_with_it_nothing(hub_db: FakeUnitOfWorkFactory) -> None:
    """Of several messages handled together, only the one that faults comes back as its fault;
    the others (another sender's among them) are handled and answered."""
    college, other = provider(), provider()
    for org in (college, other):
        hub_db.add_organisation(org)
    known = hub_db.add_learner(learner(), college.org_id, other.org_id)
    find = {"uln": known.uln, "given_name": "Amelia", "family_name": "Okafor"}
    hub_db.faults["learners.add"] = RuntimeError("database went away")  # only a new registration adds
    messages = [
        inbound(other.org_id, {"ukprn": other.org_id} | find, "learner.find_by_uln.v1"),
        inbound(college.org_id, register_body(college.org_id, **_SOMEONE_ELSE)),
        inbound(other.org_id, {"ukprn": other.org_id} | find, "learner.find_by_uln.v1"),
    ]
    outcomes = await handle_batch(hub_db, messages)
    assert [o.answer_code if isinstance(o, Handled) else repr(o) for o in outcomes] == [
        "WSRC0004",
        "RuntimeError('database went away')",
        "WSRC0004",
    ]
    assert [m.routing_key for m in outbound(hub_db)] == [other.org_id, other.org_id]


def test_a_deeply_nested_body_yields_no_mis_identifier() -> None:
    """Reading a refused row's MISIdentifier again never faults: a body nested 100,000 deep gives None."""
    assert mis_identifier_of(b"[" * 100_000 + b"]" * 100_000) is None


def test_an_oversized_body_is_not_read_again_for_its_mis_identifier() -> None:
    """A body of over 64 KB is not parsed again, even if it names a MISIdentifier."""
    assert mis_identifier_of(b'{"mis_identifier": "STU-1", "pad": "' + b"x" * 70_000 + b'"}') is None


# --- control characters: valid JSON or AMQP, but not text anyone should store or echo -------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("notes", "before\u0001after"),
        ("notes", "escape \u001b[31m red"),
        ("given_name", "Ann\u0000e"),
        ("address_line1", "1 High St\u007f"),
        ("notes", "C1 \u0085 next line"),
        ("notes", "back\bspace"),
        ("notes", "form\ffeed"),
    ],
    ids=["SOH in notes", "ESC in notes", "NUL in a name", "DEL in an address", "C1 NEL in notes", "\\b", "\\f"],
)
async def test_control_characters_anywhere_in_a_body_are_refused_naming_the_field(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, field: str, value: str
) -> None:
    """Free text with a control character is refused as invalid_contract at its field, never stored."""
    _, rejection = await send_bad(hub_db, college, register_body(college.org_id, **{field: value}))
    assert (rejection.reason, locs(rejection)) == ("invalid_contract", [f"learner.{field}"])


async def test_a_control_character_in_a_key_is_refused(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A key is text too: one with a control character is refused without being echoed."""
    body = register_body(college.org_id, **{"no\u0007tes": "x"})
    _, rejection = await send_bad(hub_db, college, body)
    assert rejection.reason == "invalid_contract"
    assert all(c.isprintable() for e in rejection.errors for c in e.loc + e.message)


async def test_tabs_and_line_breaks_in_free_text_are_kept(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """Tab, line feed and carriage return are text, not control: notes may hold them."""
    handled = await handle_inbound(hub_db, inbound(college.org_id, register_body(college.org_id, notes="a\tb\r\nc")))
    assert handled.answer_code == "WSRC0005"


@pytest.mark.parametrize("message_type", ["learner.register.v1\u0000", "\u0001", "learner.régister.v1"])
async def test_a_type_that_is_not_printable_ascii_is_refused_and_not_echoed(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, message_type: str
) -> None:
    """An unknown type with control or non-ASCII characters is refused without being repeated back."""
    _, rejection = await send_bad(
        hub_db, college, register_body(college.org_id), message_type, routing_key=f"{college.org_id}.x"
    )
    assert (rejection.reason, rejection.request_type, locs(rejection)) == ("unknown_message_type", None, ["type"])
    assert all(c.isascii() and c.isprintable() for e in rejection.errors for c in e.loc + e.message)

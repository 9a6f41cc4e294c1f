"""A provider's update of a learner (hub.register.updates): partial changes, who may change what, no duplicates,
the provider's AbilityToShare and the learner's own choice, and the learner's audit log."""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from contracts.codes import AbilityToShare, ResponseCode
from contracts.learner import LearnerAnswer, LearnerUpdated, MessageRejected, RejectionError, UpdateLearner
from contracts.sharing import SetSharing
from hub.kernel.model import Learner, Organisation
from hub.kernel.ports import AuditEntry
from hub.pipeline.drafts import AnswerDraft, DetailsChange
from hub.register import registration, updates
from hub.sharing.policy import Consent, Feed

from .builders import (
    NOW,
    awarding_organisation,
    details,
    find_by_uln,
    fresh_uln,
    learner,
    provider,
    update,
    update_body,
)
from .fakes import FakeUnitOfWorkFactory
from .plr_builders import audited, last_rejection, outbound_to, send
from .sharing_builders import (
    learner_portal,
    notices,
    offer,
    partner,
    recall_of,
    record_achievement,
    subscribed,
    with_agreement,
)

UPDATE = UpdateLearner.message_type
Handler = Callable[..., Awaitable[AnswerDraft]]


async def run(hub_db: FakeUnitOfWorkFactory, handler: Handler, sender: Organisation, request: Any) -> AnswerDraft:
    """Call one handler in its own committed unit of work, as handle_inbound does."""
    async with hub_db() as uow:
        draft = await handler(uow, sender, request, NOW)
        await uow.commit()
    return draft


async def send_update(hub_db: FakeUnitOfWorkFactory, org: Organisation, uln: str, **changes: Any) -> LearnerAnswer:
    """`org` sends learner.update.v1 of version 1 with `changes` through the hub; return its answer."""
    await send(hub_db, org, update_body(org, uln, 1, **changes), UPDATE)
    [*_, last] = outbound_to(hub_db, org)
    assert last.message_type == LearnerAnswer.message_type
    return LearnerAnswer.model_validate(last.body)


def updated(amelia: Learner, version: int = 2, **changes: Any) -> Learner:
    """Amelia as the register holds her after `changes`."""
    return Learner(amelia.uln, amelia.details.model_copy(update=changes), version)


# --- versions, links, no changes -------------------------------------------------------------


async def test_update_of_unknown_uln_is_not_found(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """Updating a valid ULN that is not in the register is WSRC0019."""
    draft = await run(hub_db, updates.update_learner, college, update(college, fresh_uln(), 1, details()))
    assert draft == AnswerDraft(UpdateLearner.message_type, ResponseCode.ULN_NOT_FOUND)


async def test_update_by_a_provider_that_never_submitted_the_learner_is_not_found(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A provider not linked to the learner is told WSRC0019, as if the ULN did not exist, and changes nothing."""
    amelia = hub_db.add_learner(learner(), "10000001")
    request = update(college, amelia.uln, 1, details(family_name="Smith"))
    draft = await run(hub_db, updates.update_learner, college, request)
    assert draft == AnswerDraft(UpdateLearner.message_type, ResponseCode.ULN_NOT_FOUND)
    assert hub_db.state.learners == {amelia.uln: amelia}


async def test_update_with_a_stale_version_is_refused(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """An update based on version 1 of a learner now at version 2 is WSRC0013 and changes nothing."""
    amelia = hub_db.add_learner(learner(version=2), college.org_id)
    request = update(college, amelia.uln, 1, details(family_name="Smith"))
    draft = await run(hub_db, updates.update_learner, college, request)
    assert draft == AnswerDraft(
        UpdateLearner.message_type, ResponseCode.RECORD_CHANGED_SINCE, uln=amelia.uln, learner=amelia
    )
    assert hub_db.state.learners == {amelia.uln: amelia}


async def test_update_with_identical_details_changes_nothing(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """Sending the learner's current details is WSRC0020, with no new version and no event."""
    amelia = hub_db.add_learner(learner(), college.org_id)
    draft = await run(hub_db, updates.update_learner, college, update(college, amelia.uln, 1, details()))
    assert draft == AnswerDraft(UpdateLearner.message_type, ResponseCode.NO_CHANGES, uln=amelia.uln, learner=amelia)
    assert hub_db.state.learners == {amelia.uln: amelia}


async def test_real_change_updates_the_learner_and_bumps_the_version(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A change is WSRC0006: the register holds version 2 with the new details and a LearnerUpdated event is raised."""
    amelia = hub_db.add_learner(learner(), college.org_id)
    changed = details(family_name="Smith", previous_family_name="Okafor")
    draft = await run(hub_db, updates.update_learner, college, update(college, amelia.uln, 1, changed))
    expected = Learner(amelia.uln, changed, version=2)
    assert draft == AnswerDraft(
        UpdateLearner.message_type,
        ResponseCode.LEARNER_UPDATED,
        uln=amelia.uln,
        learner=expected,
        events=(LearnerUpdated(uln=amelia.uln, version=2, updated_by=college.org_id),),
        change=DetailsChange(amelia.uln, ("family_name", "previous_family_name")),
    )
    assert hub_db.state.learners == {amelia.uln: expected}


async def test_update_with_invalid_uln_is_wsec0136(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """An update naming a ULN that fails the check digit is WSEC0136."""
    draft = await run(hub_db, updates.update_learner, college, update(college, "1234567890", 1, details()))
    assert draft == AnswerDraft(UpdateLearner.message_type, ResponseCode.INVALID_ULN)


# --- what an update changes (issue 9, item 11) -------------------------------------------------


async def test_fields_left_out_of_an_update_are_kept(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """The README's example (mandatory fields, a new postcode) keeps her middle name, email and AbilityToShare."""
    amelia = hub_db.add_learner(
        learner(middle_other_name="Grace", email_address="amelia@example.org", ability_to_share=1), college.org_id
    )
    readme = {"given_name": "Amelia", "family_name": "Okafor", "date_of_birth": "2008-04-12", "gender": 2,
              "last_known_postcode": "SE1 7PB", "verification_type": 1}  # fmt: skip
    answer = await send_update(hub_db, college, amelia.uln, **readme)
    assert (answer.response_code, answer.learner and answer.learner.version) == (ResponseCode.LEARNER_UPDATED, 2)
    assert hub_db.state.learners == {amelia.uln: updated(amelia, last_known_postcode="SE1 7PB")}


async def test_an_update_of_one_field_changes_only_that_field(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """{"email_address": ...} alone changes the email address and nothing else."""
    amelia = hub_db.add_learner(learner(middle_other_name="Grace"), college.org_id)
    answer = await send_update(hub_db, college, amelia.uln, email_address="amelia.okafor@example.org")
    assert answer.response_code == ResponseCode.LEARNER_UPDATED
    assert hub_db.state.learners == {amelia.uln: updated(amelia, email_address="amelia.okafor@example.org")}


async def test_an_optional_field_sent_as_null_is_cleared(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A middle name sent as JSON null is cleared; the other fields are kept."""
    amelia = hub_db.add_learner(learner(middle_other_name="Grace", notes="prefers Amy"), college.org_id)
    answer = await send_update(hub_db, college, amelia.uln, middle_other_name=None)
    assert answer.response_code == ResponseCode.LEARNER_UPDATED
    assert hub_db.state.learners == {amelia.uln: updated(amelia, middle_other_name=None)}


async def test_a_mandatory_field_sent_as_null_is_rejected_by_the_contract(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """Null cannot clear a mandatory field: the message is rejected, naming the fields, and nothing changes."""
    amelia = hub_db.add_learner(learner(), college.org_id)
    await send(hub_db, college, update_body(college, amelia.uln, 1, family_name=None, ability_to_share=None), UPDATE)
    message = "Value error, family_name, ability_to_share cannot be cleared: leave a field out to keep it"
    assert last_rejection(hub_db, college) == MessageRejected(
        reason="invalid_contract", request_type=UPDATE, errors=[RejectionError(loc="learner", message=message)]
    )
    assert hub_db.state.learners == {amelia.uln: amelia}


async def test_an_empty_update_changes_nothing(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """An update with no fields is WSRC0020, with no new version."""
    amelia = hub_db.add_learner(learner(), college.org_id)
    draft = await run(hub_db, updates.update_learner, college, update(college, amelia.uln, 1))
    assert draft == AnswerDraft(UPDATE, ResponseCode.NO_CHANGES, uln=amelia.uln, learner=amelia)


async def test_an_update_that_leaves_an_invalid_learner_is_insufficient_data(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """Verification type 999 sent without the description the learner lacks is WSRC0015, saying why; nothing changes."""
    amelia = hub_db.add_learner(learner(), college.org_id)
    draft = await run(hub_db, updates.update_learner, college, update(college, amelia.uln, 1, verification_type=999))
    why = "Learner not updated: Value error, other_verification_description is required when verification_type is 999"
    assert draft == AnswerDraft(UPDATE, ResponseCode.INSUFFICIENT_DATA, why, uln=amelia.uln, learner=amelia)
    assert hub_db.state.learners == {amelia.uln: amelia}


# --- no duplicates (issue 9, item 12) ----------------------------------------------------------


async def test_an_update_onto_another_learners_mandatory_fields_is_refused(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """Moving Grace onto Amelia's five fields (in other case and spacing) is WSRC0021, audited; nobody changes."""
    amelia = hub_db.add_learner(learner(), "10000001")
    grace = hub_db.add_learner(learner(given_name="Grace", date_of_birth=details().date_of_birth.replace(day=13)),
                               college.org_id)  # fmt: skip
    moves = {"given_name": "AMELIA", "family_name": "okafor", "date_of_birth": "2008-04-12",
             "last_known_postcode": "sw1a1aa"}  # fmt: skip
    answer = await send_update(hub_db, college, grace.uln, **moves)
    assert (answer.response_code, answer.description) == (ResponseCode.SAME_MANDATORY_FIELDS_EXIST, updates.DUPLICATE)
    assert hub_db.state.learners == {amelia.uln: amelia, grace.uln: grace}
    [entry] = audited(hub_db, "learner.update")
    assert entry == AuditEntry(entry.at, college.org_id, grace.uln, "learner.update", "registration", "refused",
                               updates.DUPLICATE, ("date_of_birth", "family_name", "given_name"),
                               entry.correlation_id)  # fmt: skip


async def test_a_learner_already_duplicated_may_still_change_other_fields(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """An update that leaves the matched fields alone is applied even if another learner already shares them."""
    hub_db.add_learner(learner(), "10000001")
    twin = hub_db.add_learner(learner(), college.org_id)
    answer = await send_update(hub_db, college, twin.uln, last_known_address_town="London")
    assert answer.response_code == ResponseCode.LEARNER_UPDATED


# --- who may change what (issue 9, item 6) -----------------------------------------------------


@pytest.fixture
def school(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    """Another provider, which learnt the learner's ULN and names and looked her up."""
    return hub_db.add_organisation(provider())


async def looked_up(hub_db: FakeUnitOfWorkFactory, school: Organisation, amelia: Learner) -> None:
    """`school` finds Amelia by her ULN and names, which links it to her."""
    await run(hub_db, registration.find_by_uln, school, find_by_uln(school, amelia.uln))
    assert (amelia.uln, school.org_id) in hub_db.state.provider_links


async def test_the_registering_provider_may_change_the_email_address(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """The provider that registered Amelia changes her email: applied, and an entry in her audit log says so."""
    amelia = hub_db.add_learner(learner(email_address="amelia@example.org"), college.org_id)
    answer = await send_update(hub_db, college, amelia.uln, email_address="amelia.okafor@example.org")
    assert answer.response_code == ResponseCode.LEARNER_UPDATED
    [entry] = audited(hub_db, "learner.update")
    assert entry == AuditEntry(entry.at, college.org_id, amelia.uln, "learner.update", "registration", "allowed", "",
                               ("email_address",), entry.correlation_id)  # fmt: skip


async def test_a_provider_that_looked_the_learner_up_cannot_change_her_email(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, school: Organisation
) -> None:
    """A hostile school that found Amelia by ULN is refused an email change (HUB0001, naming it); it is audited."""
    amelia = hub_db.add_learner(learner(email_address="amelia@example.org"), college.org_id)
    await looked_up(hub_db, school, amelia)
    answer = await send_update(hub_db, school, amelia.uln, email_address="attacker@example.net")
    why = "Learner not updated: only the provider that registered the learner may change email_address"
    assert (answer.response_code, answer.description) == (ResponseCode.UPDATE_NOT_PERMITTED, why)
    assert hub_db.state.learners == {amelia.uln: amelia}
    [entry] = audited(hub_db, "learner.update")
    assert entry == AuditEntry(entry.at, school.org_id, amelia.uln, "learner.update", "registration", "refused", why,
                               ("email_address",), entry.correlation_id)  # fmt: skip


async def test_a_provider_that_looked_the_learner_up_cannot_change_who_she_is(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, school: Organisation
) -> None:
    """Names, birth date and gender are refused whole, with the postcode sent beside them: nothing changes."""
    amelia = hub_db.add_learner(learner(), college.org_id)
    await looked_up(hub_db, school, amelia)
    answer = await send_update(hub_db, school, amelia.uln, given_name="Amy", date_of_birth="2008-04-13", gender=9,
                               last_known_postcode="SE1 7PB")  # fmt: skip
    why = (
        "Learner not updated: only the provider that registered the learner may change"
        " date_of_birth, gender, given_name"
    )
    assert (answer.response_code, answer.description) == (ResponseCode.UPDATE_NOT_PERMITTED, why)
    assert hub_db.state.learners == {amelia.uln: amelia}


async def test_another_linked_provider_may_change_her_address_and_the_change_is_audited(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, school: Organisation
) -> None:
    """The school changes Amelia's postcode (resending her names unchanged): applied, and her log names the school."""
    amelia = hub_db.add_learner(learner(), college.org_id)
    await looked_up(hub_db, school, amelia)
    answer = await send_update(hub_db, school, amelia.uln, given_name="Amelia", family_name="Okafor",
                               last_known_postcode="SE1 7PB", last_known_address_line1="2 Example Road")  # fmt: skip
    assert answer.response_code == ResponseCode.LEARNER_UPDATED
    expected = updated(amelia, last_known_postcode="SE1 7PB", last_known_address_line1="2 Example Road")
    assert hub_db.state.learners == {amelia.uln: expected}
    [entry] = audited(hub_db, "learner.update")
    assert entry == AuditEntry(entry.at, school.org_id, amelia.uln, "learner.update", "registration", "allowed",
                               "changed by a provider other than the one that registered the learner",
                               ("last_known_address_line1", "last_known_postcode"), entry.correlation_id)  # fmt: skip


async def test_another_linked_provider_may_lower_sharing_but_never_raise_it(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, school: Organisation
) -> None:
    """A school that looked Amelia up may record that she may not share, but is refused (HUB0001) setting
    that she may: only her registering provider (or she herself) can widen who sees her record."""
    amelia = hub_db.add_learner(learner(ability_to_share=AbilityToShare.NOTICE_NOT_SEEN), college.org_id)
    await looked_up(hub_db, school, amelia)
    raised = await send_update(hub_db, school, amelia.uln, ability_to_share=1)
    lowered = await send_update(hub_db, school, amelia.uln, ability_to_share=2)
    why = "Learner not updated: only the provider that registered the learner may change ability_to_share"
    assert (raised.response_code, raised.description, lowered.response_code) == (
        ResponseCode.UPDATE_NOT_PERMITTED,
        why,
        ResponseCode.LEARNER_UPDATED,
    )
    assert hub_db.state.learners[amelia.uln].details.ability_to_share == AbilityToShare.SEEN_MAY_NOT_SHARE


# --- the provider's AbilityToShare and the learner's own choice (issue 9, item 10) -------------


@pytest.fixture
def university(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    return hub_db.add_organisation(partner())


async def holding_maths(hub_db: FakeUnitOfWorkFactory, university: Organisation, uln: str) -> str:
    """Give `university` an all_not_opted_out agreement and deliver it a GCSE of `uln`'s; return its event id."""
    awarding = hub_db.add_organisation(awarding_organisation())
    with_agreement(hub_db, university)
    subscribed(hub_db, university, Feed.ACHIEVEMENTS)
    recorded = await record_achievement(hub_db, awarding, uln)
    await offer(hub_db, recorded)
    [item] = recorded.items
    assert hub_db.state.held != {}
    return item.event_id


async def test_the_provider_ending_sharing_recalls_what_partners_hold(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, university: Organisation
) -> None:
    """AbilityToShare 1 -> 2 by the MIS is an opt-out: consent version 1, and the partner is told to delete the GCSE."""
    amelia = hub_db.add_learner(learner(ability_to_share=AbilityToShare.SEEN_MAY_SHARE), college.org_id)
    event_id = await holding_maths(hub_db, university, amelia.uln)
    await send_update(hub_db, college, amelia.uln, ability_to_share=2)
    [sent] = notices(hub_db, university)
    assert sent == recall_of(sent, amelia.uln, [event_id], "the learner does not share their record")
    assert hub_db.state.held == {}
    assert hub_db.state.consents == {amelia.uln: Consent(amelia.uln, version=1, sharing=False)}


async def test_an_update_leaving_ability_to_share_out_keeps_sharing(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, university: Organisation
) -> None:
    """An update without AbilityToShare keeps the learner sharing: no recall, no new consent version."""
    amelia = hub_db.add_learner(learner(ability_to_share=AbilityToShare.SEEN_MAY_SHARE), college.org_id)
    await holding_maths(hub_db, university, amelia.uln)
    held = dict(hub_db.state.held)
    await send_update(hub_db, college, amelia.uln, last_known_postcode="SE1 7PB")
    assert (notices(hub_db, university), hub_db.state.held, hub_db.state.consents) == ([], held, {})


async def test_the_provider_sharing_again_raises_the_consent_version(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """AbilityToShare 2 -> 1 by the MIS, the learner never having chosen: she shares, as consent version 1."""
    amelia = hub_db.add_learner(learner(ability_to_share=AbilityToShare.SEEN_MAY_NOT_SHARE), college.org_id)
    await send_update(hub_db, college, amelia.uln, ability_to_share=1)
    assert hub_db.state.consents == {amelia.uln: Consent(amelia.uln, version=1, sharing=True)}


@pytest.mark.parametrize(("chosen", "mis"), [(False, 1), (True, 2)])
async def test_the_learners_own_choice_wins_over_the_providers(
    hub_db: FakeUnitOfWorkFactory, college: Organisation, chosen: bool, mis: int
) -> None:
    """After a portal choice, the MIS's AbilityToShare moves neither her sharing nor its version."""
    amelia = hub_db.add_learner(learner(ability_to_share=AbilityToShare.NOTICE_NOT_SEEN), college.org_id)
    portal = hub_db.add_organisation(learner_portal())
    choice = {"uln": amelia.uln, "share": chosen} | ({"privacy_notice_seen": True} if chosen else {})
    await send(hub_db, portal, choice, SetSharing.message_type)
    before = hub_db.state.consents[amelia.uln]
    answer = await send_update(hub_db, college, amelia.uln, ability_to_share=mis)
    assert answer.response_code == ResponseCode.LEARNER_UPDATED
    assert hub_db.state.consents == {amelia.uln: before}
    assert before == Consent(amelia.uln, version=1, sharing=chosen, chose_sharing=True)


def test_an_updates_changes_go_on_the_wire_as_they_were_sent() -> None:
    """Dumped, an update keeps what was left out absent and what was cleared null, so it reads back the same."""
    sent = '{"ukprn":"10030488","uln":"9276308686","version":1,"learner":{"middle_other_name":null,"gender":2}}'
    request = UpdateLearner.model_validate_json(sent)
    assert request.model_dump(mode="json")["learner"] == {"gender": 2, "middle_other_name": None}
    assert request.learner.changes() == {"gender": 2, "middle_other_name": None}

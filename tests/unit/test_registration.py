"""Learner Register handlers (hub.register.registration) against the in-memory register."""

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from contracts.codes import BatchReturnCode, ResponseCode
from contracts.learner import FindLearnerByUln, LearnerRegistered, RegisterLearner
from hub.kernel.model import Learner, LearnerStatus, Organisation
from hub.pipeline.drafts import AnswerDraft
from hub.register import registration
from hub.register.matching import ScoredLearner
from hub.register.uln import is_valid_uln

from .builders import NOW, details, find_by_uln, fresh_uln, learner, provider, register
from .fakes import FakeUnitOfWorkFactory

Handler = Callable[..., Awaitable[AnswerDraft]]


async def run(hub_db: FakeUnitOfWorkFactory, handler: Handler, sender: Organisation, request: Any) -> AnswerDraft:
    """Call one handler in its own committed unit of work, as handle_inbound does."""
    async with hub_db() as uow:
        draft = await handler(uow, sender, request, NOW)
        await uow.commit()
    return draft


# --- register ---------------------------------------------------------------------------


async def test_new_learner_is_registered_with_a_new_uln(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A learner nobody matches gets WSRC0005, a valid ULN, a LearnerRegistered event and a link to the provider."""
    draft = await run(hub_db, registration.register_learner, college, register(college))
    assert draft.uln is not None and is_valid_uln(draft.uln)
    assert draft == AnswerDraft(
        RegisterLearner.message_type,
        ResponseCode.LEARNER_REGISTERED,
        uln=draft.uln,
        learner=Learner(draft.uln, details()),
        events=(LearnerRegistered(uln=draft.uln, registered_by=college.org_id),),
    )
    assert hub_db.state.learners == {draft.uln: Learner(draft.uln, details())}
    assert hub_db.state.provider_links == {(draft.uln, college.org_id)}


async def test_registering_the_same_learner_again_finds_the_same_uln(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """Registering identical details a second time is an exact match with the ULN first issued."""
    first = await run(hub_db, registration.register_learner, college, register(college))
    again = await run(hub_db, registration.register_learner, college, register(college))
    assert (again.code, again.uln, again.events) == (ResponseCode.EXACT_MATCH, first.uln, ())
    assert list(hub_db.state.learners) == [first.uln]


async def test_another_provider_registering_the_learner_is_linked_to_it(hub_db: FakeUnitOfWorkFactory) -> None:
    """A second provider registering a known learner gets the existing ULN and becomes linked to it."""
    amelia = hub_db.add_learner(learner(), "10000001")
    other = provider()
    draft = await run(hub_db, registration.register_learner, other, register(other))
    assert (draft.code, draft.uln) == (ResponseCode.EXACT_MATCH, amelia.uln)
    assert hub_db.state.provider_links == {(amelia.uln, "10000001"), (amelia.uln, other.org_id)}


async def test_near_miss_gives_candidates_and_issues_no_uln(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A learner differing in one field is a possible match: WSRC0003 with candidates, no new ULN."""
    amelia = hub_db.add_learner(learner())
    draft = await run(hub_db, registration.register_learner, college, register(college, details(given_name="Amelie")))
    assert draft == AnswerDraft(
        RegisterLearner.message_type,
        ResponseCode.POSSIBLE_MATCHES,
        candidates=(ScoredLearner(amelia, 4, ("given_name",)),),
    )
    assert list(hub_db.state.learners) == [amelia.uln]
    assert hub_db.state.provider_links == set()


async def test_two_identical_learners_refuse_registration(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """When two learners share all five mandatory fields, registering them again is WSRC0021, not a guess."""
    first, second = hub_db.add_learner(learner()), hub_db.add_learner(learner())
    draft = await run(hub_db, registration.register_learner, college, register(college))
    assert draft.code == ResponseCode.SAME_MANDATORY_FIELDS_EXIST
    assert sorted(c.learner.uln for c in draft.candidates) == sorted([first.uln, second.uln])
    assert len(hub_db.state.learners) == 2


async def test_gender_not_known_is_insufficient_data(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """Gender 0 (not known) cannot get a new ULN: WSRC0015 with batch code RC006, nothing registered."""
    draft = await run(hub_db, registration.register_learner, college, register(college, details(gender=0)))
    assert draft == AnswerDraft(
        RegisterLearner.message_type,
        ResponseCode.INSUFFICIENT_DATA,
        "Insufficient data to create a ULN: gender and a real postcode needed",
    )
    assert draft.batch_code == BatchReturnCode.INSUFFICIENT_DATA
    assert hub_db.state.learners == {}


async def test_unknown_postcode_is_insufficient_data(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """ILR's ZZ99 pseudo postcode cannot get a new ULN: WSRC0015."""
    request = register(college, details(last_known_postcode="ZZ99 3WZ"))
    draft = await run(hub_db, registration.register_learner, college, request)
    assert (draft.code, draft.uln, hub_db.state.learners) == (ResponseCode.INSUFFICIENT_DATA, None, {})


async def test_learner_younger_than_13_is_outside_the_age_range(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A learner one day short of 13 is WSRC0015 with batch return code RC013, echoing the MIS id."""
    request = register(college, details(date_of_birth=date(2013, 11, 30))).model_copy(
        update={"mis_identifier": "MIS-0042"}
    )
    draft = await run(hub_db, registration.register_learner, college, request)
    assert draft == AnswerDraft(
        RegisterLearner.message_type,
        ResponseCode.INSUFFICIENT_DATA,
        "Learner outside the age range 13-110 (aged 12)",
        mis_identifier="MIS-0042",
        batch_return_code=BatchReturnCode.OUTSIDE_AGE_RANGE,
    )
    assert hub_db.state.learners == {}


async def test_learner_older_than_110_is_outside_the_age_range(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A learner aged 111 is WSRC0015 with batch return code RC013."""
    request = register(college, details(date_of_birth=date(1915, 11, 29)))
    draft = await run(hub_db, registration.register_learner, college, request)
    assert (draft.code, draft.batch_code) == (ResponseCode.INSUFFICIENT_DATA, BatchReturnCode.OUTSIDE_AGE_RANGE)


async def test_ages_13_and_110_are_inside_the_range(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A learner 13 today and one 110 years and 364 days old are both registered."""
    thirteen = register(college, details(date_of_birth=date(2013, 11, 29)))
    old = register(college, details(given_name="Edith", date_of_birth=date(1915, 11, 30)))
    codes = [(await run(hub_db, registration.register_learner, college, r)).code for r in (thirteen, old)]
    assert codes == [ResponseCode.LEARNER_REGISTERED, ResponseCode.LEARNER_REGISTERED]


# --- find by ULN ------------------------------------------------------------------------


async def test_find_by_invalid_uln_is_wsec0136(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A ULN failing the check digit is answered WSEC0136 without looking anything up."""
    draft = await run(hub_db, registration.find_by_uln, college, find_by_uln(college, "1234567890"))
    assert draft == AnswerDraft(FindLearnerByUln.message_type, ResponseCode.INVALID_ULN)


async def test_find_by_uln_with_names_that_disagree_is_no_match(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A real ULN with someone else's names is WSRC0001 and links nobody."""
    amelia = hub_db.add_learner(learner())
    draft = await run(hub_db, registration.find_by_uln, college, find_by_uln(college, amelia.uln, "Grace"))
    assert draft == AnswerDraft(FindLearnerByUln.message_type, ResponseCode.NO_MATCH)
    assert hub_db.state.provider_links == set()


async def test_find_by_unknown_uln_is_no_match(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A valid ULN nobody holds is WSRC0001."""
    draft = await run(hub_db, registration.find_by_uln, college, find_by_uln(college, fresh_uln()))
    assert draft == AnswerDraft(FindLearnerByUln.message_type, ResponseCode.NO_MATCH)


async def test_find_by_uln_with_matching_names_is_exact_and_links(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A ULN with its learner's names (any case, accents aside) is WSRC0004 and links the provider."""
    amelia = hub_db.add_learner(learner())
    draft = await run(hub_db, registration.find_by_uln, college, find_by_uln(college, amelia.uln, "AMELIA", "okafor"))
    assert draft == AnswerDraft(FindLearnerByUln.message_type, ResponseCode.EXACT_MATCH, uln=amelia.uln, learner=amelia)
    assert hub_db.state.provider_links == {(amelia.uln, college.org_id)}


async def test_find_by_linked_uln_substitutes_the_master(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A merged-away ULN is WSRC0022 with the master learner's ULN and record, which lists its links."""
    master = hub_db.add_learner(learner())
    duplicate = learner()
    hub_db.add_learner(Learner(duplicate.uln, duplicate.details, status=LearnerStatus.LINKED, master_uln=master.uln))
    draft = await run(hub_db, registration.find_by_uln, college, find_by_uln(college, duplicate.uln))
    with_links = Learner(master.uln, master.details, linked_ulns=[duplicate.uln])
    assert draft == AnswerDraft(
        FindLearnerByUln.message_type, ResponseCode.LINKED_LEARNER, uln=master.uln, learner=with_links
    )


async def test_find_by_linked_uln_with_the_names_it_was_issued_with_substitutes_the_master(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A merged-away ULN verified against its own (older) names is WSRC0022 with the master, and links the provider."""
    master = hub_db.add_learner(learner(family_name="Okafor-Reyes"))
    duplicate = learner(given_name="Amy")
    hub_db.add_learner(Learner(duplicate.uln, duplicate.details, status=LearnerStatus.LINKED, master_uln=master.uln))
    draft = await run(hub_db, registration.find_by_uln, college, find_by_uln(college, duplicate.uln, "Amy", "Okafor"))
    with_links = Learner(master.uln, master.details, linked_ulns=[duplicate.uln])
    assert draft == AnswerDraft(
        FindLearnerByUln.message_type, ResponseCode.LINKED_LEARNER, uln=master.uln, learner=with_links
    )
    assert hub_db.state.provider_links == {(master.uln, college.org_id)}


async def test_a_different_learner_named_in_cyrillic_is_never_given_anothers_uln(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A learner with other Cyrillic names but the same birthday and postcode gets a ULN of their own."""
    dmitri = hub_db.add_learner(learner(given_name="Дмитрий", family_name="Иванов", gender=1))
    request = register(college, details(given_name="Сергей", family_name="Петров", gender=1))
    draft = await run(hub_db, registration.register_learner, college, request)
    assert (draft.code, draft.uln is not None, draft.uln != dmitri.uln) == (ResponseCode.LEARNER_REGISTERED, True, True)


# --- resolving possible matches ------------------------------------------------------------


async def test_provider_confirms_an_offered_candidate(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """Re-sending a near miss with confirmed_uln of an offered candidate answers that learner as exact."""
    amelia = hub_db.add_learner(learner())
    request = RegisterLearner(ukprn=college.org_id, learner=details(given_name="Amelie"), confirmed_uln=amelia.uln)
    draft = await run(hub_db, registration.register_learner, college, request)

    assert (draft.code, draft.uln, len(hub_db.state.learners)) == (ResponseCode.EXACT_MATCH, amelia.uln, 1)
    assert (amelia.uln, college.org_id) in hub_db.state.provider_links


async def test_a_uln_that_was_not_offered_cannot_be_confirmed(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """Confirming a ULN that is not among the candidates for these details discloses nothing and links nothing."""
    hub_db.add_learner(learner())
    stranger = hub_db.add_learner(learner(given_name="Thomas", family_name="Whitfield", date_of_birth=date(1990, 1, 1)))
    request = RegisterLearner(ukprn=college.org_id, learner=details(given_name="Amelie"), confirmed_uln=stranger.uln)
    draft = await run(hub_db, registration.register_learner, college, request)

    assert (draft.code, draft.uln, draft.learner) == (ResponseCode.NO_MATCH, None, None)
    assert (stranger.uln, college.org_id) not in hub_db.state.provider_links


async def test_create_anyway_issues_a_uln_and_keeps_the_reason(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """With create_anyway_reason a near miss gets a new ULN, and the reason and overridden candidates are kept."""
    amelia = hub_db.add_learner(learner())
    reason = "Twin sister, confirmed by the school office"
    request = RegisterLearner(ukprn=college.org_id, learner=details(given_name="Amelie"), create_anyway_reason=reason)
    draft = await run(hub_db, registration.register_learner, college, request)

    assert (draft.code, draft.uln is not None, draft.uln != amelia.uln) == (ResponseCode.LEARNER_REGISTERED, True, True)
    assert hub_db.state.overrides == {draft.uln: (college.org_id, reason, [amelia.uln])}


async def test_create_anyway_never_overrides_an_exact_match(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """An exact match is answered with the existing ULN even when create_anyway_reason is given."""
    amelia = hub_db.add_learner(learner())
    request = RegisterLearner(ukprn=college.org_id, learner=details(), create_anyway_reason="I insist on a new one")
    draft = await run(hub_db, registration.register_learner, college, request)

    assert (draft.code, draft.uln, len(hub_db.state.learners)) == (ResponseCode.EXACT_MATCH, amelia.uln, 1)

"""Learner Register handlers: find by ULN, find by demographics, register (updates: hub/register/updates.py)."""

from dataclasses import replace
from datetime import date, datetime

from contracts.codes import BatchReturnCode, Gender, ResponseCode
from contracts.learner import (
    FindLearnerByDemographics,
    FindLearnerByUln,
    LearnerDetails,
    LearnerRegistered,
    RegisterLearner,
)
from hub.kernel.errors import UlnSpaceExhaustedError
from hub.kernel.model import Learner, Organisation
from hub.kernel.ports import UnitOfWork
from hub.pipeline.drafts import AnswerDraft
from hub.register.blocking import query_block_keys
from hub.register.linking import resolve_master
from hub.register.matching import MatchOutcome, MatchResult, match_learner
from hub.register.normalise import name_key
from hub.register.uln import check_uln, uln_for_issue_number

MIN_AGE, MAX_AGE = 13, 110  # LRS: registration outside this age range is RC013
# ILR's unknown-postcode pseudo postcodes start ZZ99: not enough to issue a ULN on.
_UNKNOWN_POSTCODE_PREFIX = "ZZ99"


def age_on(born: date, today: date) -> int:
    """Age in whole years on `today`."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


async def _find(uow: UnitOfWork, details: LearnerDetails | FindLearnerByDemographics) -> MatchResult:
    query = details.demographics if isinstance(details, FindLearnerByDemographics) else details
    candidates = await uow.learners.candidates(query_block_keys(query))
    return match_learner(query, candidates, await uow.learners.name_frequencies())


def _names(learner: Learner) -> tuple[str, str]:
    return name_key(learner.details.given_name), name_key(learner.details.family_name)


async def find_by_uln(uow: UnitOfWork, sender: Organisation, request: FindLearnerByUln, now: datetime) -> AnswerDraft:
    """Verify a ULN against the family and given name it was issued with."""
    kind = request.message_type
    if not check_uln(request.uln).valid:
        return AnswerDraft(kind, ResponseCode.INVALID_ULN)
    issued = await uow.learners.get(request.uln)
    learner, linked = await resolve_master(uow, request.uln)
    # A linked ULN verifies against the names it was issued with as well as the master's: the
    # provider holding that ULN knows the learner by those.
    asked = (name_key(request.given_name), name_key(request.family_name))
    names_agree = any(_names(x) == asked for x in (issued, learner) if x is not None)
    if learner is None or not names_agree:
        return AnswerDraft(kind, ResponseCode.NO_MATCH)
    await uow.learners.link_provider(learner.uln, sender.org_id)
    code = ResponseCode.LINKED_LEARNER if linked else ResponseCode.EXACT_MATCH
    return AnswerDraft(kind, code, uln=learner.uln, learner=learner)


async def find_by_demographics(
    uow: UnitOfWork, sender: Organisation, request: FindLearnerByDemographics, now: datetime
) -> AnswerDraft:
    """Search the register; an exact match links the learner to the provider that asked."""
    return await _answer_match(uow, sender, request.message_type, await _find(uow, request))


async def _answer_match(uow: UnitOfWork, sender: Organisation, kind: str, result: MatchResult) -> AnswerDraft:
    match result.outcome:
        case MatchOutcome.EXACT:
            match = result.matches[0]
            await uow.learners.link_provider(match.learner.uln, sender.org_id)
            return AnswerDraft(
                kind, ResponseCode.EXACT_MATCH, uln=match.learner.uln, learner=match.learner, match=match
            )
        case MatchOutcome.AMBIGUOUS:
            return AnswerDraft(kind, ResponseCode.SAME_MANDATORY_FIELDS_EXIST, candidates=result.matches)
        case MatchOutcome.POSSIBLE:
            return AnswerDraft(kind, ResponseCode.POSSIBLE_MATCHES, candidates=result.matches)
        case MatchOutcome.TOO_MANY:
            return AnswerDraft(kind, ResponseCode.TOO_MANY_MATCHES)
        case _:
            return AnswerDraft(kind, ResponseCode.NO_MATCH)


def _insufficient_for_new_uln(details: LearnerDetails, today: date) -> AnswerDraft | None:
    kind = RegisterLearner.message_type
    age = age_on(details.date_of_birth, today)
    if not MIN_AGE <= age <= MAX_AGE:
        return AnswerDraft(
            kind,
            ResponseCode.INSUFFICIENT_DATA,
            f"Learner outside the age range {MIN_AGE}-{MAX_AGE} (aged {age})",
            batch_return_code=BatchReturnCode.OUTSIDE_AGE_RANGE,
        )
    if details.gender == Gender.NOT_KNOWN or details.last_known_postcode.upper().startswith(_UNKNOWN_POSTCODE_PREFIX):
        return AnswerDraft(
            kind, ResponseCode.INSUFFICIENT_DATA, "Insufficient data to create a ULN: gender and a real postcode needed"
        )
    return None


async def _issue_uln(uow: UnitOfWork) -> str:
    # About one issue number in eleven cannot carry a check digit; take the next.
    for _ in range(100):
        uln = uln_for_issue_number(await uow.learners.next_issue_number())
        if uln is not None:
            return uln
    raise UlnSpaceExhaustedError("no valid ULN in 100 consecutive issue numbers")


async def register_learner(
    uow: UnitOfWork, sender: Organisation, request: RegisterLearner, now: datetime
) -> AnswerDraft:
    """Find the learner first; issue a new ULN only when nobody matches and the data suffice.

    After possible matches the provider resolves them: `confirmed_uln` names the candidate
    that is the learner; `create_anyway_reason` has a new ULN issued, the reason kept.
    """
    today = now.date()
    refusal = _insufficient_for_new_uln(request.learner, today)
    if refusal is not None:
        return replace(refusal, mis_identifier=request.mis_identifier)
    # Two registrations of the same new learner at once must not both issue a ULN: the second
    # waits, then finds the first. A date of birth is shared by few, so contention stays low.
    await uow.learners.lock_births_on(request.learner.date_of_birth)
    result = await _find(uow, request.learner)
    kind = request.message_type
    if request.confirmed_uln and result.outcome in (MatchOutcome.POSSIBLE, MatchOutcome.AMBIGUOUS):
        answer = await _confirm(uow, sender, kind, result, request.confirmed_uln)
    elif result.outcome == MatchOutcome.NONE or (
        request.create_anyway_reason and result.outcome in (MatchOutcome.POSSIBLE, MatchOutcome.TOO_MANY)
    ):
        overridden = None if result.outcome == MatchOutcome.NONE else [m.learner.uln for m in result.matches]
        answer = await _register_new(uow, sender, request, overridden)
    else:
        answer = await _answer_match(uow, sender, kind, result)
    return replace(answer, mis_identifier=request.mis_identifier)


async def _confirm(
    uow: UnitOfWork, sender: Organisation, kind: str, result: MatchResult, confirmed_uln: str
) -> AnswerDraft:
    chosen = next((m.learner for m in result.matches if m.learner.uln == confirmed_uln), None)
    if chosen is None:
        # Only a candidate the hub itself offered can be confirmed: a ULN from elsewhere could
        # be anyone's.
        return AnswerDraft(kind, ResponseCode.NO_MATCH, "The confirmed ULN is not a candidate for these details")
    await uow.learners.link_provider(chosen.uln, sender.org_id)
    return AnswerDraft(
        kind, ResponseCode.EXACT_MATCH, "Exact match: candidate confirmed", uln=chosen.uln, learner=chosen
    )


async def _register_new(
    uow: UnitOfWork, sender: Organisation, request: RegisterLearner, overridden: list[str] | None
) -> AnswerDraft:
    learner = Learner(uln=await _issue_uln(uow), details=request.learner)
    await uow.learners.add(learner, registered_by=sender.org_id)
    await uow.learners.link_provider(learner.uln, sender.org_id)
    if overridden is not None and request.create_anyway_reason:
        await uow.learners.record_override(learner.uln, sender.org_id, request.create_anyway_reason, overridden)
    return AnswerDraft(
        request.message_type,
        ResponseCode.LEARNER_REGISTERED,
        uln=learner.uln,
        learner=learner,
        events=(LearnerRegistered(uln=learner.uln, registered_by=sender.org_id),),
    )

"""A provider's update of a learner (learner.update.v1): what changes, who may change it, what follows.

The rules (README, "learner.update.v1"):
- An update names only the fields to change: a field left out is kept; an optional field sent
  as null is cleared; a mandatory one cannot be (the contract refuses null).
- The provider that registered the learner may change any field. Another provider linked to
  the learner (it found, verified or registered them after the first) may change the fields
  that do not say who the learner is; IDENTITY_FIELDS it may not, and the email address above
  all, which learner sign-in relies on; nor may it set AbilityToShare to 1 (may share), only
  lower it. Such an update is refused whole, naming the fields.
- An update may not make the learner agree on all five mandatory fields with another learner
  (WSRC0021, as registration refuses to create that duplicate).
- Every update, applied or refused for either reason, is an entry in the learner's audit log.
- Until the learner chooses through the portal, the provider's AbilityToShare is her choice:
  a change of it that starts or ends sharing is a new consent version, and what partners may
  no longer hold is recalled, exactly as a portal opt-out does.
"""

from dataclasses import replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contracts.codes import AbilityToShare, ResponseCode
from contracts.learner import LearnerChanges, LearnerDetails, LearnerUpdated, UpdateLearner
from hub.kernel.model import Learner, Organisation
from hub.kernel.ports import UnitOfWork
from hub.pipeline.drafts import AnswerDraft, DetailsChange
from hub.register.blocking import query_block_keys
from hub.register.linking import resolve_master
from hub.register.matching import MatchOutcome, match_learner
from hub.register.uln import check_uln
from hub.sharing import feeds
from hub.sharing.policy import Consent

# Who the learner is: names (but the preferred given name), birth, gender, nationality, the
# identifiers and how identity was checked, and the email address learner sign-in relies on.
IDENTITY_FIELDS = frozenset(
    {
        "given_name",
        "family_name",
        "middle_other_name",
        "previous_family_name",
        "family_name_at_age_16",
        "date_of_birth",
        "place_of_birth",
        "gender",
        "nationality",
        "scottish_candidate_number",
        "verification_type",
        "other_verification_description",
        "email_address",
    }
)
# What matching compares: a change of any of these may make the learner someone else's duplicate.
_MATCHED_FIELDS = frozenset(
    {"given_name", "family_name", "previous_family_name", "date_of_birth", "gender", "last_known_postcode"}
)
DUPLICATE = (
    "Learner not updated: another learner has the same given name, family name, date of birth, gender and"
    " postcode. If they are the same person, ask the hub's operators to merge the two records"
)
_NOT_REGISTRANT = "changed by a provider other than the one that registered the learner"


async def update_learner(uow: UnitOfWork, sender: Organisation, request: UpdateLearner, now: datetime) -> AnswerDraft:
    """Apply a provider's change to a learner it has submitted, refusing stale versions."""
    kind = request.message_type
    if not check_uln(request.uln).valid:
        return AnswerDraft(kind, ResponseCode.INVALID_ULN)
    learner, linked = await resolve_master(uow, request.uln)
    # A provider that never submitted this learner is told "not found", not that it exists.
    if learner is None or not await uow.learners.is_linked(learner.uln, sender.org_id):
        return AnswerDraft(kind, ResponseCode.ULN_NOT_FOUND)
    if request.version != learner.version:
        return AnswerDraft(kind, ResponseCode.RECORD_CHANGED_SINCE, uln=learner.uln, learner=learner)
    merged = _merge(learner.details, request.learner)
    if isinstance(merged, str):
        return AnswerDraft(kind, ResponseCode.INSUFFICIENT_DATA, merged, uln=learner.uln, learner=learner)
    changed = tuple(sorted(f for f in LearnerDetails.model_fields if getattr(merged, f) != getattr(learner.details, f)))
    if not changed:
        return AnswerDraft(kind, ResponseCode.NO_CHANGES, uln=learner.uln, learner=learner)

    def refuse(code: ResponseCode, why: str) -> AnswerDraft:
        return AnswerDraft(kind, code, why, learner.uln, learner, change=DetailsChange(learner.uln, changed, why))

    registrant = await uow.learners.registered_by(learner.uln) == sender.org_id
    forbidden = [] if registrant else [f for f in changed if f in IDENTITY_FIELDS or _starts_sharing(f, merged)]
    if forbidden:
        why = f"Learner not updated: only the provider that registered the learner may change {', '.join(forbidden)}"
        return refuse(ResponseCode.UPDATE_NOT_PERMITTED, why)
    if _MATCHED_FIELDS.intersection(changed) and await _duplicates_another(uow, learner.uln, merged):
        return refuse(ResponseCode.SAME_MANDATORY_FIELDS_EXIST, DUPLICATE)
    updated = replace(learner, details=merged, version=learner.version + 1)
    await uow.learners.update(updated)
    await _follow_providers_sharing(uow, learner, updated, now)
    event = LearnerUpdated(uln=updated.uln, version=updated.version, updated_by=sender.org_id)
    change = DetailsChange(updated.uln, changed, note="" if registrant else _NOT_REGISTRANT)
    code = ResponseCode.LINKED_LEARNER if linked else ResponseCode.LEARNER_UPDATED
    return AnswerDraft(kind, code, uln=updated.uln, learner=updated, events=(event,), change=change)


def _starts_sharing(field: str, merged: LearnerDetails) -> bool:
    # A provider that merely looked the learner up may record that she may NOT share (a
    # privacy notice seen at its desk), never that she may: that widens who sees her record.
    return field == "ability_to_share" and merged.ability_to_share == AbilityToShare.SEEN_MAY_SHARE


def _merge(details: LearnerDetails, changes: LearnerChanges) -> LearnerDetails | str:
    """The learner's details with the changes applied, or why they do not make a valid learner."""
    merged: dict[str, Any] = details.model_dump() | changes.changes()
    try:
        return LearnerDetails.model_validate(merged)
    except ValidationError as e:  # e.g. verification_type 999 without its description
        return "Learner not updated: " + "; ".join(err["msg"] for err in e.errors())


async def _duplicates_another(uow: UnitOfWork, uln: str, details: LearnerDetails) -> bool:
    """Whether another active learner agrees with `details` on all five mandatory fields, as matching compares them."""
    # Serialised with registrations of that birth date, so neither creates the duplicate unseen.
    await uow.learners.lock_births_on(details.date_of_birth)
    others = [c for c in await uow.learners.candidates(query_block_keys(details)) if c.uln != uln]
    result = match_learner(details, others, await uow.learners.name_frequencies())
    return result.outcome in (MatchOutcome.EXACT, MatchOutcome.AMBIGUOUS)


async def _follow_providers_sharing(uow: UnitOfWork, before: Learner, after: Learner, now: datetime) -> None:
    """Carry a change of the provider's AbilityToShare into the learner's choices, unless she chose herself."""
    if before.details.ability_to_share == after.details.ability_to_share:
        return
    current = (await uow.sharing.consents([before.uln])).get(before.uln) or Consent.default_for(before)
    wanted = current.following(after)
    if wanted.sharing == current.sharing:
        return
    await uow.sharing.save_consent(replace(wanted, version=current.version + 1))
    await feeds.recheck(uow, now, ulns=[after.uln])

"""The Personal Learning Record: versioned entries, their receipts, and what a change resolves.

Each entry is named by its sender and the sender's own id for it, and carries the sender's
version. A higher version replaces it; a version not higher is a duplicate (same content) or
stale (an older amendment arriving late) and never overwrites. An amendment or withdrawal of
an entry under challenge resolves the challenge, and the learner portal that raised it is told.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.base import Contract
from contracts.codes import ResponseCode
from contracts.learner import RejectionError
from contracts.plr import ChallengeOutcome, ChallengeResolved, ItemOutcome, ItemReason, LearningEventView
from hub.kernel.model import ChallengeStatus, EventKind, LearningEvent
from hub.kernel.ports import UnitOfWork
from hub.pipeline.drafts import Notice
from hub.pipeline.items import InvalidItem
from hub.records.attempts import REFUSAL
from hub.records.verification import Verdict
from hub.register.linking import resolve_master


def new_id() -> str:
    return str(uuid.uuid4())


def rejected(
    index: int,
    action: str,
    ref: str | None,
    reason: ItemReason,
    description: str,
    code: ResponseCode | None = None,
    errors: Sequence[RejectionError] = (),
) -> ItemOutcome:
    return ItemOutcome(
        index=index,
        action=action,
        ref=ref,
        outcome="rejected",
        reason=reason,
        response_code=code,
        description=description,
        errors=list(errors),
    )


def invalid(item: InvalidItem) -> ItemOutcome:
    """The answer to a malformed item: an invalid ULN if that is all that is wrong, else the errors."""
    if item.only_wrong("uln"):
        return rejected(
            item.index,
            item.action,
            item.ref,
            "invalid_uln",
            "Supplied ULN invalid",
            ResponseCode.INVALID_ULN,
            item.errors,
        )
    return rejected(item.index, item.action, item.ref, "invalid_item", "the item is not valid", None, item.errors)


# One answer for a ULN nobody has and for any detail that differs: naming the fields would tell a
# guesser the rest were right (the names, then the date of birth), and "no such learner" which
# ULNs exist. The learner's audit log keeps which fields differed.
NOT_VERIFIED = "Learner could not be verified: the ULN and the details sent do not identify one learner"


def unverified(index: int, action: str, ref: str, verdict: Verdict, uln: str) -> ItemOutcome:
    """The answer to an item whose learner did not verify, or was not checked (the attempt limit)."""
    if verdict.code == ResponseCode.INVALID_ULN:
        return rejected(index, action, ref, "invalid_uln", f"ULN {uln} fails its check digit", verdict.code)
    if verdict.refused:
        return rejected(index, action, ref, "too_many_attempts", REFUSAL, ResponseCode.NOT_VERIFIED)
    return rejected(index, action, ref, "not_verified", NOT_VERIFIED, ResponseCode.NOT_VERIFIED)


def applied(
    index: int, action: str, event: LearningEvent, outcome: str, verdict: Verdict | None, ref: str | None = None
) -> ItemOutcome:
    """A receipt; `ref` is what the item named the entry by (the sender's own id unless given)."""
    code = verdict.code if verdict else None
    note = ""
    if code == ResponseCode.LINKED_LEARNER:
        note = f"the ULN sent is linked: recorded against its master ULN {event.uln}"
    return ItemOutcome(
        index=index,
        action=action,
        ref=ref or event.source_ref,
        outcome=outcome,
        response_code=code,
        description=note or outcome,
        uln=event.uln,
        event_id=event.event_id,
        version=event.version,
    )


def not_newer(index: int, action: str, found: LearningEvent, version: int, same: bool) -> ItemOutcome | None:
    """Refuse a version that is not higher than the recorded one (None: it is newer, apply it)."""
    if version > found.version:
        return None
    ref = found.source_ref
    if same:
        return rejected(index, action, ref, "duplicate", f"version {version} of {ref} is already recorded")
    why = f"version {version} of {ref} is not newer than the recorded version {found.version}: not applied"
    return rejected(index, action, ref, "stale_version", why)


def foreign(index: int, action: str, ref: str, named: LearningEvent | None, sender: str) -> ItemOutcome | None:
    """Refuse an amendment whose `event_id` names an entry another organisation sent, or another
    of the sender's own entries than its `result_id` does."""
    if named is not None and named.source_org != sender:
        return rejected(index, action, ref, "not_yours", "that entry was sent by another organisation")
    if named is not None and named.source_ref != ref:
        why = f"event_id {named.event_id} is the entry of {named.source_ref}, not of {ref}"
        return rejected(index, action, ref, "invalid_item", why)
    return None


@dataclass
class Changes:
    """What a message changed, gathered to be saved and announced once."""

    saved: dict[str, LearningEvent]
    resolved_by: dict[str, str]  # event_id -> amended | withdrawn, for entries under challenge

    @classmethod
    def empty(cls) -> "Changes":
        return cls({}, {})

    def save(self, event: LearningEvent, resolution: str | None = None) -> None:
        self.saved[event.event_id] = event
        if resolution and event.under_challenge:
            self.resolved_by[event.event_id] = resolution


async def commit_changes(uow: UnitOfWork, changes: Changes, at: datetime) -> tuple[list[Contract], list[Notice]]:
    """Save the changed entries and resolve the challenges their changes answered."""
    events: list[Contract] = []
    notices: list[Notice] = []
    if changes.resolved_by:
        for challenge in await uow.plr.open_challenges(sorted(changes.resolved_by)):
            resolution = changes.resolved_by[challenge.event_id]
            changes.saved[challenge.event_id].under_challenge = False
            more, notice = await resolve(uow, challenge.challenge_id, challenge.event_id, resolution, at)
            events += more
            notices += notice
    for event in changes.saved.values():
        await uow.plr.save(event)
    return events, notices


async def resolve(
    uow: UnitOfWork, challenge_id: str, event_id: str, resolution: str, at: datetime, note: str | None = None
) -> tuple[list[Contract], list[Notice]]:
    """Close a challenge: the event for the hub, the outcome for the portal that raised it."""
    challenge = await uow.plr.get_challenge(challenge_id)
    assert challenge is not None and challenge.status == ChallengeStatus.OPEN
    challenge.status, challenge.resolution, challenge.resolved_at = ChallengeStatus.RESOLVED, resolution, at
    await uow.plr.save_challenge(challenge)
    uln = challenge.uln
    outcome = ChallengeOutcome(challenge_id=challenge_id, event_id=event_id, uln=uln, resolution=resolution, note=note)
    event = ChallengeResolved(challenge_id=challenge_id, event_id=event_id, uln=uln, resolution=resolution)
    return [event], [Notice(challenge.raised_by, challenge.raised_by, uln, outcome)]


async def record_of(uow: UnitOfWork, uln: str) -> tuple[str | None, list[LearningEvent]]:
    """A learner's PLR: the entries of the learner (its master if `uln` is linked) and of every
    ULN linked to it. Returns the master ULN (None if no such learner) and the entries."""
    learner, _ = await resolve_master(uow, uln)
    if learner is None:
        return None, []
    return learner.uln, await uow.plr.for_learners([learner.uln, *learner.linked_ulns])


_SOURCE_OF = {EventKind.ACHIEVEMENT: "AO", EventKind.PARTICIPATION: "ILR"}


def view(event: LearningEvent) -> LearningEventView:
    """An entry as the PLR shows it: what it records, who sent it, when loaded, whether challenged."""
    fields: dict[str, Any] = dict(event.fields)
    if event.withdrawn_reason:
        fields["withdrawn_reason"] = event.withdrawn_reason
    assert event.loaded_at is not None, "an entry read from the register has a load date"
    return LearningEventView(
        event_id=event.event_id,
        kind=event.kind.value,
        uln=event.uln,
        source=_SOURCE_OF[event.kind],
        source_org=event.source_org,
        source_ref=event.source_ref,
        version=event.version,
        withdrawn=event.withdrawn,
        under_challenge=event.under_challenge,
        date_loaded=event.loaded_at,
        fields=fields,
    )

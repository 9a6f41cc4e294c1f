"""Challenges: a learner disputes an entry of their PLR; the organisation that sent it answers.

The learner portal raises a challenge for the learner it authenticated. The entry is marked
under challenge and its sender is told (through the disclosure gate). The challenge is
resolved when that sender amends or withdraws the entry (hub/records/plr.py) or confirms it here;
the portal is told the outcome.
"""

from datetime import datetime

from contracts.plr import (
    ChallengeAnswer,
    ChallengeLearningEvent,
    ChallengeNotice,
    ChallengeRaised,
    ConfirmLearningEvent,
)
from hub.kernel.model import Challenge, ChallengeStatus, Organisation
from hub.kernel.ports import UnitOfWork
from hub.pipeline.drafts import Notice, OutcomesDraft, ReplyDraft
from hub.records import plr
from hub.register.linking import ulns_of

_CONFIRM = "confirm"
_WITHDRAWN = "the entry was withdrawn by the organisation that sent it: there is nothing left to challenge"


async def raise_challenge(
    uow: UnitOfWork, sender: Organisation, request: ChallengeLearningEvent, now: datetime
) -> ReplyDraft:
    """Mark the entry under challenge and tell the organisation that sent it."""
    event = await uow.plr.get(request.event_id)
    uln, event_id = request.uln, request.event_id
    _, learners_ulns = await ulns_of(uow, uln)  # the ULNs whose entries make up this learner's PLR
    if event is None or event.uln not in learners_ulns:
        # An entry of another learner is answered as unknown: the portal learns nothing of it.
        return ReplyDraft(ChallengeAnswer(uln=uln, event_id=event_id, outcome="unknown_event"), uln)
    if event.withdrawn:
        # Its sender could neither amend (that reinstates) nor withdraw it again: refuse, say why.
        refused = ChallengeAnswer(uln=uln, event_id=event_id, outcome="withdrawn_event", description=_WITHDRAWN)
        return ReplyDraft(refused, uln)
    if event.under_challenge:
        open_ = await uow.plr.open_challenges([event_id])
        challenge_id = open_[0].challenge_id if open_ else None
        answer = ChallengeAnswer(
            uln=uln, event_id=event_id, outcome="already_under_challenge", challenge_id=challenge_id
        )
        return ReplyDraft(answer, uln)
    now = now
    challenge = Challenge(plr.new_id(), event_id, event.uln, sender.org_id, request.reason, now)
    event.under_challenge = True
    await uow.plr.save(event)
    await uow.plr.save_challenge(challenge)
    notice = ChallengeNotice(
        challenge_id=challenge.challenge_id,
        event_id=event_id,
        kind=event.kind.value,
        source_ref=event.source_ref,
        uln=event.uln,
        reason=request.reason,
        raised_at=now,
    )
    raised = ChallengeRaised(
        challenge_id=challenge.challenge_id, event_id=event_id, uln=event.uln, source_org=event.source_org
    )
    answer = ChallengeAnswer(uln=uln, event_id=event_id, outcome="under_challenge", challenge_id=challenge.challenge_id)
    return ReplyDraft(answer, uln, (raised,), (Notice(event.source_org, event.source_org, event.uln, notice),))


async def confirm(uow: UnitOfWork, sender: Organisation, request: ConfirmLearningEvent, now: datetime) -> OutcomesDraft:
    """The entry's sender stands by it: resolve the challenge as confirmed."""
    kind, challenge_id = request.message_type, request.challenge_id
    challenge = await uow.plr.get_challenge(challenge_id)
    event = await uow.plr.get(challenge.event_id) if challenge else None
    if challenge is None or event is None:
        refused = plr.rejected(0, _CONFIRM, challenge_id, "unknown_challenge", f"no challenge {challenge_id}")
        return OutcomesDraft(kind, (refused,))
    if event.source_org != sender.org_id:
        refused = plr.rejected(0, _CONFIRM, challenge_id, "not_yours", "that entry was sent by another organisation")
        return OutcomesDraft(kind, (refused,))
    if challenge.status != ChallengeStatus.OPEN:
        refused = plr.rejected(0, _CONFIRM, challenge_id, "duplicate", f"already resolved ({challenge.resolution})")
        return OutcomesDraft(kind, (refused,))
    event.under_challenge = False
    await uow.plr.save(event)
    events, notices = await plr.resolve(uow, challenge_id, event.event_id, "confirmed", now, request.note)
    confirmed = plr.applied(0, _CONFIRM, event, "confirmed", None, ref=challenge_id)
    return OutcomesDraft(kind, (confirmed,), tuple(events), tuple(notices))

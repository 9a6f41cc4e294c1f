"""Enrolments from providers' MIS: each becomes a participation record in the learner's PLR.

A provider publishes the enrolment when the learner starts and again, with a higher version,
when it changes (actual end date, outcome). The learner is verified as an achievement's is,
within the same attempt limit, and the provider is linked to the learner (it now has a
learner it submitted).
"""

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from contracts.base import Contract
from contracts.plr import ItemOutcome, ParticipationRecorded, PublishEnrolment
from hub.kernel.model import EventKind, LearningEvent, Organisation
from hub.kernel.ports import UnitOfWork
from hub.pipeline.drafts import Attempt, Notice, OutcomesDraft
from hub.records import plr
from hub.records.grades import date_out_of_range
from hub.records.verification import Checker, Claim

ACTION = "publish"
_KEPT = {"learning_aim_reference", "learning_aim_title", "start_date", "planned_end_date", "actual_end_date", "outcome"}


def _answer(
    kind: str,
    outcome: ItemOutcome,
    events: Sequence[Contract] = (),
    notices: Sequence[Notice] = (),
    attempts: Sequence[Attempt] = (),
) -> OutcomesDraft:
    return OutcomesDraft(kind, (outcome,), tuple(events), tuple(notices), tuple(attempts))


async def publish(uow: UnitOfWork, sender: Organisation, request: PublishEnrolment, now: datetime) -> OutcomesDraft:
    """Record or replace the participation record of one enrolment."""
    today = now.date()
    ref = request.enrolment_id
    answer = partial(_answer, request.message_type)
    for name, value in (("start_date", request.start_date), ("actual_end_date", request.actual_end_date)):
        why = date_out_of_range(name, value, today) if value else None
        if why:
            return answer(plr.rejected(0, ACTION, ref, "date_out_of_range", why))
    checker = await Checker.load(uow, sender, [request.uln], now)
    answer = partial(_answer, request.message_type, attempts=checker.attempts)
    claim = Claim(request.uln, request.given_name, request.family_name, request.date_of_birth)
    verdict = await checker.judge(claim)
    if verdict.learner is None:
        return answer(plr.unverified(0, ACTION, ref, verdict, request.uln))
    fields = request.model_dump(mode="json", include=_KEPT)
    existing = (await uow.plr.by_source(sender.org_id, EventKind.PARTICIPATION, [ref])).get(ref)
    changes = plr.Changes.empty()
    if existing is None:
        event = LearningEvent(
            plr.new_id(),
            verdict.learner.uln,
            EventKind.PARTICIPATION,
            sender.org_id,
            ref,
            request.version,
            fields,
            loaded_at=now,
        )
        changes.save(event)
        outcome = "recorded"
    else:
        stale = plr.not_newer(0, ACTION, existing, request.version, existing.fields == fields)
        if stale:
            return answer(stale)
        event = existing
        event.uln, event.version, event.fields = verdict.learner.uln, request.version, fields
        changes.save(event, "amended")
        outcome = "amended"
    await uow.learners.link_provider(verdict.learner.uln, sender.org_id)
    more, notices = await plr.commit_changes(uow, changes, now)
    kept = request.model_dump(include=set(_KEPT))
    recorded = ParticipationRecorded(
        event_id=event.event_id, uln=event.uln, provider=sender.org_id, enrolment_id=ref, version=event.version, **kept
    )
    return answer(plr.applied(0, ACTION, event, outcome, verdict), [recorded, *more], notices)

"""Achievements from awarding organisations: submit, amend, withdraw, singly or in bulk.

Items apply in the order sent (a submission then its amendment in one message works); each
gets a receipt or a rejection with a reason. Every submission and amendment is verified
against the learner's demographics, whichever learner it names: an awarding organisation
has no standing "business" with a ULN that would let it skip the check. The checks of one
message count towards the sender's attempt limit in the order sent, as a verify batch's do
(hub/records/verification.py), so a bulk cannot guess a date of birth either. A linked ULN's
achievement is recorded against its master. The organisation is the validated sender.
"""

from collections.abc import Sequence
from datetime import date, datetime

from contracts.base import Contract
from contracts.plr import (
    AchievementBulk,
    AchievementEvent,
    AchievementRecord,
    AchievementsAmended,
    AchievementsRecorded,
    AchievementsWithdrawn,
    AmendAchievement,
    ItemOutcome,
    SubmitAchievement,
    WithdrawAchievement,
    WithdrawnAchievement,
)
from hub.kernel.model import EventKind, LearningEvent, Organisation
from hub.kernel.ports import UnitOfWork
from hub.pipeline.drafts import OutcomesDraft
from hub.pipeline.items import InvalidItem
from hub.records import plr
from hub.records.grades import date_out_of_range, grade_outside_scale
from hub.records.verification import Checker, Claim, Verdict

Item = SubmitAchievement | AmendAchievement | WithdrawAchievement

# What the PLR keeps of an achievement: the record without the demographics it was checked by.
_DEMOGRAPHICS = {"uln", "given_name", "family_name", "date_of_birth", "action", "event_id", "version", "result_id"}


def _fields(record: AchievementRecord) -> dict[str, object]:
    return record.model_dump(mode="json", exclude=_DEMOGRAPHICS)


def _event(e: LearningEvent) -> AchievementEvent:
    return AchievementEvent(
        event_id=e.event_id,
        uln=e.uln,
        awarding_organisation=e.source_org,
        result_id=e.source_ref,
        version=e.version,
        **e.fields,
    )


class _Batch:
    """One message's items applied in turn against the entries they name."""

    def __init__(
        self, sender: Organisation, checker: Checker, found: dict[str, LearningEvent], today: date, now: datetime
    ) -> None:
        self.sender = sender
        self.checker = checker
        self.found = found  # by result id; grows as items of this message record new entries
        self.now = now
        self.today = today
        self.changes = plr.Changes.empty()
        # Each change as it was when applied: a later item of the message may change the entry again.
        self.recorded: list[AchievementEvent] = []
        self.amended: list[AchievementEvent] = []
        self.withdrawn: list[WithdrawnAchievement] = []

    def checked(self, index: int, item: AchievementRecord) -> ItemOutcome | None:
        """Refuse a record whose dates or grade cannot be right (None: they can)."""
        action = item.action  # type: ignore[attr-defined]
        why = date_out_of_range("award_date", item.award_date, self.today)
        if why:
            return plr.rejected(index, action, item.result_id, "date_out_of_range", why)
        why = grade_outside_scale(item.qualification_type, item.grade)
        if why:
            return plr.rejected(index, action, item.result_id, "grade_outside_scale", why)
        return None

    async def verify(self, item: AchievementRecord) -> Verdict:
        return await self.checker.judge(Claim(item.uln, item.given_name, item.family_name, item.date_of_birth))

    async def submit(self, index: int, item: SubmitAchievement) -> ItemOutcome:
        refused = self.checked(index, item)
        if refused:
            return refused
        verdict = await self.verify(item)
        if verdict.learner is None:
            return plr.unverified(index, item.action, item.result_id, verdict, item.uln)
        existing = self.found.get(item.result_id)
        if existing is not None:
            same = existing.version == item.version and existing.fields == _fields(item)
            why = f"{item.result_id} is already recorded; send achievement.amend with a higher version to change it"
            return plr.rejected(index, item.action, item.result_id, "duplicate", "resent" if same else why)
        event = LearningEvent(
            plr.new_id(),
            verdict.learner.uln,
            EventKind.ACHIEVEMENT,
            self.sender.org_id,
            item.result_id,
            item.version,
            _fields(item),
            loaded_at=self.now,
        )
        self.found[item.result_id] = event
        self.changes.save(event)
        self.recorded.append(_event(event))
        return plr.applied(index, item.action, event, "recorded", verdict)

    async def amend(self, index: int, item: AmendAchievement, named: LearningEvent | None) -> ItemOutcome:
        existing = self.found.get(item.result_id)
        refused = plr.foreign(index, item.action, item.result_id, named, self.sender.org_id) or self.checked(
            index, item
        )
        if refused:
            return refused
        if existing is None:
            return plr.rejected(
                index,
                item.action,
                item.result_id,
                "unknown_record",
                f"no achievement {item.result_id} of yours to amend",
            )
        same = existing.fields == _fields(item) and not existing.withdrawn
        stale = plr.not_newer(index, item.action, existing, item.version, same)
        if stale:
            return stale
        verdict = await self.verify(item)
        if verdict.learner is None:
            return plr.unverified(index, item.action, item.result_id, verdict, item.uln)
        existing.uln, existing.version, existing.fields = verdict.learner.uln, item.version, _fields(item)
        existing.withdrawn, existing.withdrawn_reason = False, None  # a later version reinstates
        self.changes.save(existing, "amended")
        self.amended.append(_event(existing))
        return plr.applied(index, item.action, existing, "amended", verdict)

    def withdraw(self, index: int, item: WithdrawAchievement, named: LearningEvent | None) -> ItemOutcome:
        existing = self.found.get(item.result_id)
        refused = plr.foreign(index, item.action, item.result_id, named, self.sender.org_id)
        if refused:
            return refused
        if existing is None:
            return plr.rejected(
                index,
                item.action,
                item.result_id,
                "unknown_record",
                f"no achievement {item.result_id} of yours to withdraw",
            )
        stale = plr.not_newer(index, item.action, existing, item.version, existing.withdrawn)
        if stale:
            return stale
        existing.version, existing.withdrawn, existing.withdrawn_reason = item.version, True, item.reason
        self.changes.save(existing, "withdrawn")
        e = existing
        self.withdrawn.append(
            WithdrawnAchievement(
                event_id=e.event_id,
                uln=e.uln,
                awarding_organisation=e.source_org,
                result_id=e.source_ref,
                version=e.version,
                reason=item.reason,
            )
        )
        return plr.applied(index, item.action, existing, "withdrawn", None)

    def events(self) -> list[Contract]:
        out: list[Contract] = []
        if self.recorded:
            out.append(AchievementsRecorded(items=self.recorded))
        if self.amended:
            out.append(AchievementsAmended(items=self.amended))
        if self.withdrawn:
            out.append(AchievementsWithdrawn(items=self.withdrawn))
        return out


async def apply(
    uow: UnitOfWork, sender: Organisation, request_type: str, items: Sequence[Item | InvalidItem], now: datetime
) -> OutcomesDraft:
    """Apply each item in turn; answer every one."""
    records = [i for i in items if isinstance(i, AchievementRecord)]
    checker = await Checker.load(uow, sender, [r.uln for r in records], now)
    refs = sorted({i.result_id for i in items if not isinstance(i, InvalidItem)})
    found = await uow.plr.by_source(sender.org_id, EventKind.ACHIEVEMENT, refs)
    batch = _Batch(sender, checker, found, now.date(), now)
    outcomes = []
    for index, item in enumerate(items):
        if isinstance(item, InvalidItem):
            outcomes.append(plr.invalid(item))
        elif isinstance(item, SubmitAchievement):
            outcomes.append(await batch.submit(index, item))
        else:
            named = await uow.plr.get(item.event_id) if item.event_id else None
            if isinstance(item, AmendAchievement):
                outcomes.append(await batch.amend(index, item, named))
            else:
                outcomes.append(batch.withdraw(index, item, named))
    more, notices = await plr.commit_changes(uow, batch.changes, batch.now)
    return OutcomesDraft(
        request_type, tuple(outcomes), tuple(batch.events() + more), tuple(notices), tuple(checker.attempts)
    )


async def submit(uow: UnitOfWork, sender: Organisation, request: SubmitAchievement, now: datetime) -> OutcomesDraft:
    return await apply(uow, sender, request.message_type, [request], now)


async def amend(uow: UnitOfWork, sender: Organisation, request: AmendAchievement, now: datetime) -> OutcomesDraft:
    return await apply(uow, sender, request.message_type, [request], now)


async def withdraw(uow: UnitOfWork, sender: Organisation, request: WithdrawAchievement, now: datetime) -> OutcomesDraft:
    return await apply(uow, sender, request.message_type, [request], now)


async def bulk(
    uow: UnitOfWork, sender: Organisation, request: AchievementBulk | Sequence[Item | InvalidItem], now: datetime
) -> OutcomesDraft:
    """Up to 1,000 items; a malformed one is answered on its own, the rest applied."""
    items = request.items if isinstance(request, AchievementBulk) else request
    return await apply(uow, sender, AchievementBulk.message_type, items, now)

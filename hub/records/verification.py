"""Verifying a learner: does this ULN belong to the person these details describe?

Awarding organisations verify before they send achievements (LRS verifyLearner), and every
achievement and enrolment is checked the same way. The rule is strict, because a wrong
verification puts one learner's grade in another's record: the names must agree after
normalisation (case, accents, punctuation), the given name with the given or preferred given
name, the family name with the current, previous or at-age-16 family name (people change
names; exam entries keep the old one); and the birth date and gender must agree when sent.
A linked ULN is verified against its master and answered with the master's ULN.

Every check counts towards the attempt limit (hub/records/attempts.py): a sender that failed too often
for a learner is refused unchecked, so verification cannot be used to guess a birth date. Every
message type that checks a learner's details (verify, achievements, enrolments, partners' record
requests) goes through one `Checker` a message, so they share the count. Which fields differed
is kept for the learner's audit log only: told to the sender, it would confirm the rest.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from contracts.codes import Gender, ResponseCode
from contracts.plr import VerifyItem, VerifyLearner, VerifyLearners
from hub.kernel.model import Learner, Organisation
from hub.kernel.ports import UnitOfWork
from hub.pipeline.drafts import Attempt, VerificationDraft, VerifiedItem
from hub.pipeline.items import InvalidItem
from hub.records.attempts import Attempts
from hub.register.linking import resolve_master_among
from hub.register.normalise import name_key
from hub.register.uln import check_uln

_UNKNOWN_GENDERS = frozenset({Gender.NOT_KNOWN, Gender.NOT_SPECIFIED})


@dataclass(frozen=True)
class Claim:
    """What a sender says about the learner behind a ULN."""

    uln: str
    given_name: str
    family_name: str
    date_of_birth: date | None = None
    gender: Gender | None = None


def differing(learner: Learner, claim: Claim) -> list[str]:
    """The fields of `claim` that do not agree with `learner` (empty: verified)."""
    d = learner.details
    given = {name_key(n) for n in (d.given_name, d.preferred_given_name) if n}
    family = {name_key(n) for n in (d.family_name, d.previous_family_name, d.family_name_at_age_16) if n}
    wrong = []
    if name_key(claim.given_name) not in given:
        wrong.append("given_name")
    if name_key(claim.family_name) not in family:
        wrong.append("family_name")
    if claim.date_of_birth is not None and claim.date_of_birth != d.date_of_birth:
        wrong.append("date_of_birth")
    if claim.gender is not None and {claim.gender, d.gender}.isdisjoint(_UNKNOWN_GENDERS) and claim.gender != d.gender:
        wrong.append("gender")
    return wrong


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking a claim: `learner` is the (master) learner when verified; `about`
    the master's ULN of the learner the claim named, verified or not (None: no such learner);
    `refused` when the attempt limit refused it unchecked."""

    code: ResponseCode
    learner: Learner | None = None
    differing: tuple[str, ...] = ()
    about: str | None = None
    refused: bool = False

    @property
    def verified(self) -> bool:
        return self.learner is not None

    @property
    def attempt(self) -> Attempt:
        """This check as the learner's audit log records it."""
        return Attempt(self.about, self.code, self.verified, self.differing, self.refused)


async def load(uow: UnitOfWork, ulns: Sequence[str]) -> dict[str, Learner]:
    """The learners of `ulns` and the masters of any linked among them, in two round trips at most."""
    found = await uow.learners.get_many(sorted({u for u in ulns if check_uln(u).valid}))
    masters = {x.master_uln for x in found.values() if x.master_uln and x.master_uln not in found}
    if masters:
        found |= await uow.learners.get_many(sorted(masters))
    return found


def _differing_any(claim: Claim, learner: Learner, issued: Learner | None) -> list[str]:
    """What differs from the master's details, or nothing when the details a linked ULN was
    issued with agree instead."""
    wrong = differing(learner, claim)
    if wrong and issued is not None and issued is not learner and not differing(issued, claim):
        return []
    return wrong


def counted_as(uln: str, learners: dict[str, Learner]) -> str:
    """The ULN attempts on `uln` count under: its master's, or itself when no learner has it."""
    learner, _ = resolve_master_among(uln, learners)
    return learner.uln if learner is not None else uln


def judge(claim: Claim, learners: dict[str, Learner]) -> Verdict:
    """Verify `claim` against the learners `load` fetched."""
    if not check_uln(claim.uln).valid:
        return Verdict(ResponseCode.INVALID_ULN)
    learner, linked = resolve_master_among(claim.uln, learners)
    if learner is None:
        return Verdict(ResponseCode.NOT_VERIFIED)
    wrong = _differing_any(claim, learner, learners.get(claim.uln) if linked else None)
    if wrong:
        return Verdict(ResponseCode.NOT_VERIFIED, differing=tuple(wrong), about=learner.uln)
    return Verdict(ResponseCode.LINKED_LEARNER if linked else ResponseCode.EXACT_MATCH, learner, about=learner.uln)


class Checker:
    """One message's checks of learners' details: the learners and the sender's failed attempts
    loaded once, then each claim judged in the order sent, within the attempt limit."""

    def __init__(self, learners: dict[str, Learner], attempts: Attempts) -> None:
        self.learners = learners
        self._attempts = attempts
        self.attempts: list[Attempt] = []  # every check, in order, for the learners' audit logs

    @classmethod
    async def load(cls, uow: UnitOfWork, sender: Organisation, ulns: Sequence[str], now: datetime) -> "Checker":
        """Fetch the learners of `ulns` and the sender's failures on them (three round trips at most)."""
        learners = await load(uow, ulns)
        # No check digit test here: a ULN failing it is never counted, so its count is simply absent.
        counted = [counted_as(u, learners) for u in ulns]
        return cls(learners, await Attempts.load(uow, sender.org_id, counted, now))

    async def judge(self, claim: Claim) -> Verdict:
        """`judge` within the attempt limit: refused unchecked past it, and a failure counted.

        The refusal depends only on the count, never on the claim, so it tells a guesser nothing.
        """
        counted = counted_as(claim.uln, self.learners)
        if self._attempts.exhausted(counted):
            learner, _ = resolve_master_among(claim.uln, self.learners)
            verdict = Verdict(ResponseCode.NOT_VERIFIED, about=learner.uln if learner else None, refused=True)
        else:
            verdict = judge(claim, self.learners)
            if verdict.code == ResponseCode.NOT_VERIFIED:  # not WSEC0136: a bad check digit names no learner
                await self._attempts.failed(counted)
        if verdict.code != ResponseCode.INVALID_ULN:
            self.attempts.append(verdict.attempt)
        return verdict

    async def fail(self, verdict: Verdict, why: str) -> Verdict:
        """Count a verified claim as failed after all (`why`, for the learner's log): for a sender
        that must not learn the learner exists, it is answered and counted as a wrong guess."""
        assert verdict.learner is not None
        await self._attempts.failed(verdict.learner.uln)
        failed = Verdict(ResponseCode.NOT_VERIFIED, about=verdict.learner.uln)
        self.attempts[-1] = Attempt(failed.about, failed.code, note=why)
        return failed


def _claim(item: VerifyItem) -> Claim:
    return Claim(item.uln, item.given_name, item.family_name, item.date_of_birth, item.gender)


async def verify(
    uow: UnitOfWork, sender: Organisation, request_type: str, items: Sequence[VerifyItem | InvalidItem], now: datetime
) -> VerificationDraft:
    checker = await Checker.load(uow, sender, [i.uln for i in items if isinstance(i, VerifyItem)], now)
    results = []
    for index, item in enumerate(items):
        if isinstance(item, InvalidItem):
            # A ULN of the wrong shape is an invalid ULN, as the LRS answers it; anything else
            # wrong with the item is reported as it is.
            code = ResponseCode.INVALID_ULN if item.only_wrong("uln") else None
            results.append(VerifiedItem(index, item.ref, item.field("uln"), code, None, item.errors))
            continue
        verdict = await checker.judge(_claim(item))
        results.append(
            VerifiedItem(
                index,
                item.ref,
                item.uln,
                verdict.code,
                verdict.learner,
                about=verdict.about,
                differing=verdict.differing,
                refused=verdict.refused,
            )
        )
    return VerificationDraft(request_type, tuple(results))


async def verify_learner(
    uow: UnitOfWork, sender: Organisation, request: VerifyLearner, now: datetime
) -> VerificationDraft:
    """Verify one learner."""
    return await verify(uow, sender, request.message_type, [request], now)


async def verify_learners(
    uow: UnitOfWork, sender: Organisation, request: VerifyLearners | Sequence[VerifyItem | InvalidItem], now: datetime
) -> VerificationDraft:
    """Verify up to 5,000 learners; a malformed item is answered on its own, the rest verified."""
    items = request.items if isinstance(request, VerifyLearners) else request
    return await verify(uow, sender, VerifyLearners.message_type, items, now)

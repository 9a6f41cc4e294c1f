"""Verifying a learner: does this ULN belong to the person these details describe?

Awarding organisations verify before they send achievements (LRS verifyLearner), and every
achievement and enrolment is checked the same way. The rule is strict, because a wrong
verification puts one learner's grade in another's record: the names must agree after
normalisation (case, accents, punctuation), the given name with the given or preferred given
name, the family name with the current, previous or at-age-16 family name (people change
names; exam entries keep the old one); and the birth date and gender must agree when sent.
A linked ULN is verified against its master and answered with the master's ULN.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from contracts.codes import Gender, ResponseCode
from contracts.plr import VerifyItem, VerifyLearner, VerifyLearners
from hub.answers import VerificationDraft, VerifiedItem
from hub.bulk import InvalidItem
from hub.model import Learner, LearnerStatus, Organisation
from hub.normalise import name_key
from hub.ports import UnitOfWork
from hub.uln import check_uln

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
    """The outcome of checking a claim: `learner` is the (master) learner when verified."""

    code: ResponseCode
    learner: Learner | None = None
    differing: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return self.learner is not None


async def load(uow: UnitOfWork, ulns: Sequence[str]) -> dict[str, Learner]:
    """The learners of `ulns` and the masters of any linked among them, in two round trips at most."""
    found = await uow.learners.get_many(sorted({u for u in ulns if check_uln(u).valid}))
    masters = {x.master_uln for x in found.values() if x.master_uln and x.master_uln not in found}
    if masters:
        found |= await uow.learners.get_many(sorted(masters))
    return found


def judge(claim: Claim, learners: dict[str, Learner]) -> Verdict:
    """Verify `claim` against the learners `load` fetched."""
    if not check_uln(claim.uln).valid:
        return Verdict(ResponseCode.INVALID_ULN)
    learner = learners.get(claim.uln)
    linked = learner is not None and learner.status == LearnerStatus.LINKED
    if learner is not None and linked and learner.master_uln:
        learner = learners.get(learner.master_uln)
    if learner is None:
        return Verdict(ResponseCode.NOT_VERIFIED)
    wrong = differing(learner, claim)
    if wrong:
        return Verdict(ResponseCode.NOT_VERIFIED, differing=tuple(wrong))
    return Verdict(ResponseCode.LINKED_LEARNER if linked else ResponseCode.EXACT_MATCH, learner)


def _claim(item: VerifyItem) -> Claim:
    return Claim(item.uln, item.given_name, item.family_name, item.date_of_birth, item.gender)


async def verify(uow: UnitOfWork, request_type: str, items: Sequence[VerifyItem | InvalidItem]) -> VerificationDraft:
    ulns = [i.uln for i in items if isinstance(i, VerifyItem)]
    learners = await load(uow, ulns)
    results = []
    for index, item in enumerate(items):
        if isinstance(item, InvalidItem):
            # A ULN of the wrong shape is an invalid ULN, as the LRS answers it; anything else
            # wrong with the item is reported as it is.
            code = ResponseCode.INVALID_ULN if item.only_wrong("uln") else None
            results.append(VerifiedItem(index, item.ref, item.field("uln"), code, None, item.errors))
            continue
        verdict = judge(_claim(item), learners)
        results.append(VerifiedItem(index, item.ref, item.uln, verdict.code, verdict.learner))
    return VerificationDraft(request_type, tuple(results))


async def verify_learner(
    uow: UnitOfWork, sender: Organisation, request: VerifyLearner, today: date
) -> VerificationDraft:
    """Verify one learner."""
    return await verify(uow, request.message_type, [request])


async def verify_learners(
    uow: UnitOfWork, sender: Organisation, request: VerifyLearners | Sequence[VerifyItem | InvalidItem], today: date
) -> VerificationDraft:
    """Verify up to 5,000 learners; a malformed item is answered on its own, the rest verified."""
    items = request.items if isinstance(request, VerifyLearners) else request
    return await verify(uow, VerifyLearners.message_type, items)

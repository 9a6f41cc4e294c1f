"""Linked learners: an operator merges a duplicate into its master, or reverses a wrong merge.

A linked ULN is never reused and stays valid forever: every answer about it gives the master
(WSRC0022). Merging re-points anything already linked to the duplicate, so links never chain.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from contracts.learner import LearnersMerged, LearnersUnmerged
from hub.kernel.model import Learner, LearnerStatus
from hub.kernel.ports import UnitOfWork
from hub.pipeline.events import publish_event
from hub.register.blocking import learner_block_keys
from hub.register.matching import POSSIBLE_SCORE, score_learner
from hub.register.uln import check_uln


@dataclass(frozen=True)
class LinkOutcome:
    """Whether a merge or unmerge was applied, and if not, why."""

    applied: bool
    reason: str = ""


def _master_uln(learner: Learner | None) -> str | None:
    """The master a linked learner resolves to; None for an active learner, or none at all.

    Links never chain (a merge re-points them), so one step reaches the master."""
    if learner is not None and learner.status == LearnerStatus.LINKED and learner.master_uln:
        return learner.master_uln
    return None


async def resolve_master(uow: UnitOfWork, uln: str) -> tuple[Learner | None, bool]:
    """The learner `uln` names, following a linked ULN to its master; and whether it was linked."""
    learner = await uow.learners.get(uln)
    master = _master_uln(learner)
    return (await uow.learners.get(master), True) if master else (learner, False)


def resolve_master_among(uln: str, learners: Mapping[str, Learner]) -> tuple[Learner | None, bool]:
    """`resolve_master` among learners already read (with the masters of any linked among them)."""
    learner = learners.get(uln)
    master = _master_uln(learner)
    return (learners.get(master), True) if master else (learner, False)


async def ulns_of(uow: UnitOfWork, uln: str) -> tuple[str, list[str]]:
    """The ULN a learner's data is filed under (the master's, for a linked ULN; `uln` itself when no
    learner has it), and every ULN of theirs: the master's first, then each linked one."""
    learner, _ = await resolve_master(uow, uln)
    return (learner.uln, [learner.uln, *learner.linked_ulns]) if learner else (uln, [uln])


async def merge_learners(uow: UnitOfWork, master_uln: str, linked_uln: str) -> LinkOutcome:
    """Make `linked_uln` a linked ULN of `master_uln`."""
    for uln in (master_uln, linked_uln):
        if not check_uln(uln).valid:
            return LinkOutcome(False, f"{uln} is not a valid ULN: {check_uln(uln).reason}")
    if master_uln == linked_uln:
        return LinkOutcome(False, "a learner cannot be merged into itself")
    master, linked = await uow.learners.get(master_uln), await uow.learners.get(linked_uln)
    if master is None or linked is None:
        return LinkOutcome(False, f"no learner {master_uln if master is None else linked_uln}")
    if master.status != LearnerStatus.ACTIVE:
        return LinkOutcome(False, f"{master_uln} is itself linked to {master.master_uln}: merge into that")
    if linked.status != LearnerStatus.ACTIVE:
        return LinkOutcome(False, f"{linked_uln} is already linked to {linked.master_uln}")
    for already in linked.linked_ulns:  # keep every link one step from its master
        await uow.learners.link(already, master_uln)
    await uow.learners.link(linked_uln, master_uln)
    await publish_event(uow, LearnersMerged(master_uln=master_uln, linked_uln=linked_uln))
    return LinkOutcome(True)


async def unmerge_learners(uow: UnitOfWork, master_uln: str, linked_uln: str) -> LinkOutcome:
    """Reverse a merge: `linked_uln` becomes a learner of its own again."""
    linked = await uow.learners.get(linked_uln)
    if linked is None or linked.status != LearnerStatus.LINKED or linked.master_uln != master_uln:
        return LinkOutcome(False, f"{linked_uln} is not linked to {master_uln}")
    await uow.learners.link(linked_uln, None)
    await publish_event(uow, LearnersUnmerged(master_uln=master_uln, linked_uln=linked_uln))
    return LinkOutcome(True)


@dataclass(frozen=True)
class LikelyDuplicate:
    """Two active learners that look like one person, with the score and how fields agreed."""

    uln: str
    other_uln: str
    score: float
    agreement: dict[str, str]


async def likely_duplicates(uow: UnitOfWork, ulns: list[str]) -> list[LikelyDuplicate]:
    """Look for duplicates of each of `ulns` in the register, as a search for them would."""
    found: dict[tuple[str, str], LikelyDuplicate] = {}
    frequencies = await uow.learners.name_frequencies()
    for uln in ulns:
        learner = await uow.learners.get(uln)
        if learner is None or learner.status != LearnerStatus.ACTIVE:
            continue
        for other in await uow.learners.candidates(learner_block_keys(learner)):
            pair = tuple(sorted((uln, other.uln)))
            if other.uln == uln or pair in found:
                continue
            scored = score_learner(learner.details, other, frequencies)
            if scored.score >= POSSIBLE_SCORE:
                found[(pair[0], pair[1])] = LikelyDuplicate(pair[0], pair[1], scored.score, scored.agreement)
    return sorted(found.values(), key=lambda d: -d.score)

"""The hub's domain objects: organisations, learners and their learning events."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from contracts.codes import OrganisationKind
from contracts.learner import LearnerDetails


class OrganisationStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class Organisation:
    """A party in the organisation register; `org_id` is also its RabbitMQ user name."""

    org_id: str
    kind: OrganisationKind
    name: str
    status: OrganisationStatus = OrganisationStatus.ACTIVE

    @property
    def active(self) -> bool:
        return self.status == OrganisationStatus.ACTIVE


class LearnerStatus(StrEnum):
    ACTIVE = "active"
    LINKED = "linked"  # merged into `master_uln`; the ULN stays valid and resolves to it


@dataclass
class Learner:
    """A learner in the Learner Register."""

    uln: str
    details: LearnerDetails
    version: int = 1
    status: LearnerStatus = LearnerStatus.ACTIVE
    master_uln: str | None = None
    linked_ulns: list[str] = field(default_factory=list)


class EventKind(StrEnum):
    ACHIEVEMENT = "achievement"  # from an awarding organisation
    PARTICIPATION = "participation"  # from a provider's enrolment


@dataclass
class LearningEvent:
    """One entry of a Personal Learning Record, as its sender last versioned it.

    `source_ref` is the sender's own id for it (result id, enrolment id): with `source_org`
    and `kind` it names the entry, so amendments and withdrawals find it. `fields` holds what
    the entry records (JSON values), without the demographics it was checked against.
    """

    event_id: str
    uln: str
    kind: EventKind
    source_org: str
    source_ref: str
    version: int
    fields: dict[str, Any]
    withdrawn: bool = False
    withdrawn_reason: str | None = None
    under_challenge: bool = False
    loaded_at: datetime | None = None  # set by the register on first save (DateLoaded)
    updated_at: datetime | None = None


class ChallengeStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass
class Challenge:
    """A learner's challenge of a PLR entry, open until the entry's sender amends, withdraws or confirms it."""

    challenge_id: str
    event_id: str
    uln: str
    raised_by: str  # the learner portal that spoke for the learner
    reason: str
    raised_at: datetime
    status: ChallengeStatus = ChallengeStatus.OPEN
    resolution: str | None = None  # amended | withdrawn | confirmed
    resolved_at: datetime | None = None

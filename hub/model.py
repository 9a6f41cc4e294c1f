"""The hub's domain objects: organisations and learners."""

from dataclasses import dataclass, field
from enum import StrEnum

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

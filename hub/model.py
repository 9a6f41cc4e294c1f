"""The hub's domain objects: organisations and learners."""

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from contracts.codes import OrganisationKind
from contracts.learner import LearnerDetails
from hub.normalise import name_key, postcode_key


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


@dataclass(frozen=True)
class MatchKeys:
    """The normalised demographics the register indexes and matching compares."""

    given: str
    family: str
    date_of_birth: date
    gender: int
    postcode: str

    @classmethod
    def of(cls, given: str, family: str, date_of_birth: date, gender: int, postcode: str) -> "MatchKeys":
        return cls(name_key(given), name_key(family), date_of_birth, int(gender), postcode_key(postcode))


@dataclass
class Learner:
    """A learner in the Learner Register."""

    uln: str
    details: LearnerDetails
    version: int = 1
    status: LearnerStatus = LearnerStatus.ACTIVE
    master_uln: str | None = None
    linked_ulns: list[str] = field(default_factory=list)

    @property
    def keys(self) -> MatchKeys:
        d = self.details
        return MatchKeys.of(d.given_name, d.family_name, d.date_of_birth, d.gender, d.last_known_postcode)

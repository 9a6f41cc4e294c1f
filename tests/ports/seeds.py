"""Fresh organisations and learners for the contract tests, which share one database per session.

Every learner gets names and a date of birth of its own, so that its blocking keys find no
learner of another test.
"""

import itertools
import secrets
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from contracts.codes import OrganisationKind
from hub.kernel.model import EventKind, Learner, LearningEvent, Organisation
from tests.unit.builders import fresh_uln, learner

from .conftest import NewUow

# Apart from the unit tests' builders (10_030_488..., 100_062..., 20_000_001...), should both run in one process.
_org_ids = itertools.count(40_000_001)


def organisation(kind: OrganisationKind = OrganisationKind.PROVIDER) -> Organisation:
    return Organisation(str(next(_org_ids)), kind, f"Test {kind.value}")


def name() -> str:
    """A made-up name nobody else in the run has (its sound, which blocking keys on, too)."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    return "".join(secrets.choice(consonants) + secrets.choice(vowels) for _ in range(4)).capitalize()


def someone(**overrides: Any) -> Learner:
    """A learner with a fresh ULN, names and date of birth (override any detail)."""
    born = date(1960, 1, 1) + timedelta(days=secrets.randbelow(18_000))
    fresh: dict[str, Any] = {"given_name": name(), "family_name": name(), "date_of_birth": born}
    return learner(fresh_uln(), **(fresh | overrides))


async def seeded(new_uow: NewUow, *learners: Learner, kind: OrganisationKind = OrganisationKind.PROVIDER) -> str:
    """Add an organisation and `learners` registered by it, committed; return the organisation's id."""
    org = organisation(kind)
    async with new_uow() as uow:
        await uow.organisations.add(org)
        for x in learners:
            await uow.learners.add(x, org.org_id)
        await uow.commit()
    return org.org_id


def entry(
    uln: str,
    source_org: str,
    kind: EventKind = EventKind.ACHIEVEMENT,
    *,
    ref: str | None = None,
    loaded_at: datetime | None = None,
    **fields: Any,
) -> LearningEvent:
    """A PLR entry (a GCSE in mathematics, grade 7, unless `fields` say otherwise) with a fresh id and ref."""
    ref = ref or f"R-{uuid.uuid4().hex[:12]}"
    recorded = {"subject": "Mathematics", "grade": "7"} | fields
    return LearningEvent(str(uuid.uuid4()), uln, kind, source_org, ref, 1, recorded, loaded_at=loaded_at)

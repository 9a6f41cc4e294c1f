"""Small builders of realistic test values; every id they invent is fresh."""

import itertools
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from contracts.codes import OrganisationKind
from contracts.learner import FindLearnerByUln, LearnerChanges, LearnerDetails, RegisterLearner, UpdateLearner
from hub.kernel.model import Learner, Organisation, OrganisationStatus
from hub.pipeline.inbound import BatchRef, InboundMessage
from hub.register.uln import uln_for_issue_number

TODAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 10, 30, tzinfo=UTC)  # when a handler is called directly: TODAY, mid-morning
CONSUMER = "lrs.registration"

# Far from the fake register's own issue numbers (1, 2, ...), so seeded ULNs never collide.
_seed_issue_numbers = itertools.count(500_000_000)
_org_ids = itertools.count(10_030_488)
_ao_ids = itertools.count(100_062)


def fresh_uln() -> str:
    """A valid ULN nobody else in the test run has."""
    while (uln := uln_for_issue_number(next(_seed_issue_numbers))) is None:
        pass
    return uln


def provider(status: OrganisationStatus = OrganisationStatus.ACTIVE) -> Organisation:
    """A learning provider with a fresh UKPRN."""
    return Organisation(str(next(_org_ids)), OrganisationKind.PROVIDER, "Northgate College", status)


def awarding_organisation() -> Organisation:
    return Organisation(str(next(_ao_ids)), OrganisationKind.AWARDING_ORGANISATION, "Example Awards")


def details(**overrides: Any) -> LearnerDetails:
    """Amelia Okafor's details, with any field overridden."""
    fields: dict[str, Any] = {
        "given_name": "Amelia",
        "family_name": "Okafor",
        "date_of_birth": date(2008, 4, 12),
        "gender": 2,
        "last_known_postcode": "SW1A 1AA",
        "verification_type": 1,
    }
    return LearnerDetails(**(fields | overrides))


def learner(uln: str | None = None, version: int = 1, **overrides: Any) -> Learner:
    """A registered learner with a fresh ULN unless one is given."""
    return Learner(uln=uln or fresh_uln(), details=details(**overrides), version=version)


def register(org: Organisation, learner_details: LearnerDetails | None = None) -> RegisterLearner:
    return RegisterLearner(ukprn=org.org_id, learner=learner_details or details())


def find_by_uln(
    org: Organisation, uln: str, given_name: str = "Amelia", family_name: str = "Okafor"
) -> FindLearnerByUln:
    return FindLearnerByUln(ukprn=org.org_id, uln=uln, given_name=given_name, family_name=family_name)


def update(
    org: Organisation, uln: str, version: int, learner_details: LearnerDetails | None = None, **changes: Any
) -> UpdateLearner:
    """An update of the fields in `changes` (the rest kept); `learner_details` sends every field it was built with."""
    sent = learner_details.model_dump(exclude_unset=True) if learner_details is not None else {}
    return UpdateLearner(ukprn=org.org_id, uln=uln, version=version, learner=LearnerChanges(**(sent | changes)))


def update_body(org: Organisation, uln: str, version: int, **changes: Any) -> dict[str, Any]:
    """A learner.update.v1 body as JSON carries it: only the fields to change."""
    return {"ukprn": org.org_id, "uln": uln, "version": version, "learner": changes}


def register_body(org_id: str, **learner_overrides: Any) -> dict[str, Any]:
    """A learner.register.v1 body as JSON would carry it."""
    body = RegisterLearner(ukprn=org_id, learner=details()).model_dump(mode="json", exclude_none=True)
    body["learner"] |= learner_overrides
    return body


def inbound(
    sender: str | None,
    body: dict[str, Any] | bytes,
    message_type: str | None = RegisterLearner.message_type,
    *,
    message_id: str | None = None,
    routing_key: str | None = None,
    batch: BatchRef | None = None,
    replay: bool = False,
) -> InboundMessage:
    """A message as the registration consumer receives it, routed `<sender>.<type>` unless told."""
    return InboundMessage(
        consumer=CONSUMER,
        message_id=str(uuid.uuid4()) if message_id is None else message_id,
        message_type=message_type,
        sender=sender,
        body=body if isinstance(body, bytes) else json.dumps(body).encode(),
        routing_key=f"{sender}.{message_type}" if routing_key is None else routing_key,
        batch=batch,
        replay=replay,
    )

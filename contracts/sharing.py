"""Sharing contracts: learners' choices, partners' feeds and record requests, notices, the disclosure log.

Learners speak through the learner portal (an organisation of kind `learner_portal`, which
authenticated them); partners (universities, employers, analysts) hold a data sharing
agreement. Everything a partner receives is projected to the fields its agreement and the
learner's choices allow, and stamped with the decision that allowed it.

Version 1 of each is published: change them only compatibly.
"""

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from contracts.base import Contract
from contracts.codes import ResponseCode
from contracts.fields import Name, OrgId, Uln
from contracts.plr import EventId, LearningEventView

FeedName = Literal["achievements", "participation", "learner_details"]
# The one definition of a purpose: the wire checks it, and so does `hub dsa` (through
# purpose_problem), so that an agreement never names a purpose no partner could send.
PURPOSE_PATTERN = r"^[a-z][a-z0-9_]{1,49}$"
Purpose = Annotated[
    str,
    Field(description="Why the data is wanted, as the agreement names it (e.g. admissions, employment_check)"),
    StringConstraints(pattern=PURPOSE_PATTERN),
]


def purpose_problem(purpose: str) -> str | None:
    """Why `purpose` is not one a partner could send (None if it is)."""
    if re.fullmatch(PURPOSE_PATTERN, purpose):
        return None
    return (
        f"purpose {purpose!r} is not valid: 2-50 lower-case letters, digits and underscores, starting with a "
        "letter (e.g. admissions, careers_advice)"
    )


# --- Learner choices (from the learner portal) ------------------------------------------------


class SetSharing(Contract):
    """Opt out of sharing, or opt back in (only with the privacy notice seen)."""

    message_type = "consent.set_sharing.v1"
    uln: Uln
    share: bool
    privacy_notice_seen: bool = False

    @model_validator(mode="after")
    def _notice_before_sharing(self) -> "SetSharing":
        if self.share and not self.privacy_notice_seen:
            raise ValueError("opting in needs privacy_notice_seen: true")
        return self


class SetRestrictedView(Contract):
    """Choose what organisations see: only the listed learning events (null: all), or basic details only."""

    message_type = "consent.set_restricted_view.v1"
    uln: Uln
    event_ids: list[EventId] | None = Field(default=None, max_length=1000)
    basic_details_only: bool = False


class Nominate(Contract):
    """Let an organisation see the restricted view until a date (inclusive)."""

    message_type = "consent.nominate.v1"
    uln: Uln
    org_id: OrgId
    until: date


class WithdrawNomination(Contract):
    """End a nomination now."""

    message_type = "consent.withdraw_nomination.v1"
    uln: Uln
    org_id: OrgId


class ReadOwnRecord(Contract):
    """A learner reads their full record: details, every PLR entry, their choices."""

    message_type = "learner.read_record.v1"
    uln: Uln


class PreviewView(Contract):
    """A learner sees exactly what an organisation would receive about them today."""

    message_type = "learner.preview.v1"
    uln: Uln
    org_id: OrgId


class ReadDisclosures(Contract):
    """A learner reads every disclosure decision about them (the disclosure log)."""

    message_type = "learner.read_disclosures.v1"
    uln: Uln


class ConsentView(Contract):
    """A learner's choices as the hub holds them; `version` rises with every change."""

    version: int
    sharing: bool
    restricted_event_ids: list[str] | None
    basic_details_only: bool
    nominations: dict[str, date]


class ConsentAnswer(Contract):
    """The answer to a learner's choice: applied (with the choices now held) or refused."""

    message_type = "consent.answer.v1"
    request_type: str
    uln: str
    outcome: Literal["applied", "unchanged", "refused"]
    reason: str | None = None
    consent: ConsentView | None = None


class OwnRecord(Contract):
    """A learner's full record, for the learner."""

    message_type = "learner.record.v1"
    uln: str
    found: bool
    details: dict[str, str | int | None] = {}
    events: list[LearningEventView] = []
    consent: ConsentView | None = None


class DecisionStamp(Contract):
    """Why a partner may hold what it received: the agreement and consent versions and the purpose."""

    agreement_id: str
    agreement_version: int
    consent_version: int
    purpose: str


class Preview(Contract):
    """What `org_id` would receive today: per feed, the projected entries, or why nothing."""

    message_type = "learner.preview_answer.v1"
    uln: str
    org_id: str
    items: list["DeliveredItem"] = []
    refused: dict[str, str] = {}  # feed -> why it would receive nothing


class DisclosureEntry(Contract):
    """One decision about the learner: who, what, when, why, allowed or refused."""

    at: datetime
    recipient: str
    what: str
    purpose: str
    decision: Literal["allowed", "refused"]
    reason: str
    fields: list[str]
    agreement_id: str | None = None
    agreement_version: int | None = None
    consent_version: int | None = None


class Disclosures(Contract):
    """The learner's disclosure log, oldest first."""

    message_type = "learner.disclosures.v1"
    uln: str
    entries: list[DisclosureEntry]


# --- Partners: subscriptions, feeds, record requests, notices ----------------------------------


class Subscribe(Contract):
    """Receive a feed for a purpose (the agreement must cover both)."""

    message_type = "feed.subscribe.v1"
    feed: FeedName
    purpose: Purpose


class Unsubscribe(Contract):
    """Stop receiving a feed."""

    message_type = "feed.unsubscribe.v1"
    feed: FeedName


class SubscriptionAnswer(Contract):
    """The answer to a subscribe or unsubscribe: active, ended, or refused with the reason."""

    message_type = "feed.subscription.v1"
    feed: str
    purpose: str | None = None
    status: Literal["active", "ended", "refused"]
    reason: str | None = None


class Backfill(Contract):
    """Replay a feed's entries changed since a moment, through today's consent and agreement.

    Answered in pages, oldest change first: to go on, send the answer's `next_since` and
    `next_after` back as `since` and `after`."""

    message_type = "feed.backfill.v1"
    feed: Literal["achievements", "participation"]
    since: datetime
    after: EventId | None = Field(default=None, description="the last entry of the previous page")
    limit: int = Field(default=1000, ge=1, le=5000)


class BackfillDone(Contract):
    """A backfill page was delivered (as feed.delivery.v1): how many entries went, how many were refused."""

    message_type = "feed.backfill_done.v1"
    feed: str
    delivered: int
    refused: int
    complete: bool
    next_since: datetime | None = None
    next_after: str | None = None


class DeliveredItem(Contract):
    """One entry (or a learner's details) as a partner may see it: only the permitted fields."""

    feed: str
    event_id: str | None = None
    version: int | None = None
    replaces_version: int | None = None  # a correction: replace what you hold of this entry
    fields: dict[str, str | int | None]
    stamp: DecisionStamp


class Delivery(Contract):
    """A feed's delivery to one partner: what one hub event allowed it to see."""

    message_type = "feed.delivery.v1"
    feed: str
    items: list[DeliveredItem]


class RequestRecord(Contract):
    """A partner asks for a learner's record, for a purpose (LRS: with the learner's consent only)."""

    message_type = "partner.record_request.v1"
    uln: Uln
    given_name: Name
    family_name: Name
    purpose: Purpose


class PartnerRecord(Contract):
    """The restricted view the policy allows, or the LRS refusal (WSEC0206 not sharing, WSEC0208 not verified)."""

    message_type = "partner.record.v1"
    response_code: ResponseCode
    description: str
    items: list[DeliveredItem] = []


class Notice(Contract):
    """Delete (recall), replace (correction) or re-key what you received; acknowledge it."""

    message_type = "feed.notice.v1"
    notice_id: str
    kind: Literal["recall", "correction", "rekey"]
    reason: str
    uln: str | None = None
    event_ids: list[str] = []
    replacement: DeliveredItem | None = None
    new_uln: str | None = None


class AcknowledgeNotices(Contract):
    """A partner confirms it acted on notices (deleted, replaced, re-keyed what they named)."""

    message_type = "feed.notice_ack.v1"
    notice_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=1000
    )


class NoticesAcknowledged(Contract):
    """Which of the notices were the partner's own and are now acknowledged."""

    message_type = "feed.notice_acked.v1"
    acknowledged: list[str]
    unknown: list[str] = []


Preview.model_rebuild()

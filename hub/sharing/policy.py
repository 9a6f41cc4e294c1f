"""The disclosure policy for partners: data sharing agreements and learners' choices, as rules.

`decide` is the whole rule; the disclosure gate (hub/disclosure/decision.py) applies it to
everything a partner receives (feeds, backfills, record requests, previews), item by item, and
`feeds.may_keep` to what a partner already holds. In order:

1. The recipient is an active organisation of kind partner.
2. It has an agreement in force today (active, valid_from <= today <= valid_to) that covers
   the purpose and the feed. A partner holds at most one agreement that is not revoked; each
   change of it is a new version, and every decision names the version it relied on.
3. The learner shares. Her own choice through the learner portal, once made, decides; until
   then the provider's AbilityToShare does, as last registered or updated (only 1, notice
   seen and may share, shares; 0 notice not seen and 2 may not share do not).
4. If the agreement reaches only learners who nominated the partner, the learner has a
   nomination of it that has not expired (`until` is the last day it holds).
5. For learning events (achievements, participation): not if the learner chose basic details
   only; and, if the learner chose a restricted view, only the events it lists.
6. The projection is the entry's fields that the agreement names; for learner details with
   "basic details only", only the basic ones. Nothing permitted: nothing is sent.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any

from contracts.codes import AbilityToShare, OrganisationKind
from hub.kernel.model import Learner, Organisation


class Feed(StrEnum):
    ACHIEVEMENTS = "achievements"
    PARTICIPATION = "participation"
    LEARNER_DETAILS = "learner_details"


class Scope(StrEnum):
    NOMINATED = "nominated"  # only learners who nominated the partner
    ALL_NOT_OPTED_OUT = "all_not_opted_out"  # every learner who shares


class AgreementStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


# The learner details a "basic details only" view keeps.
BASIC_DETAILS = frozenset({"uln", "given_name", "family_name", "date_of_birth"})
LEARNER_DETAIL_FIELDS = frozenset(
    {"uln", "given_name", "family_name", "date_of_birth", "gender", "last_known_postcode", "email_address"}
)


@dataclass(frozen=True)
class Agreement:
    """One version of a partner's data sharing agreement."""

    agreement_id: str
    partner: str
    version: int
    purposes: frozenset[str]
    feeds: frozenset[Feed]
    fields: frozenset[str]
    scope: Scope
    valid_from: date
    valid_to: date
    status: AgreementStatus = AgreementStatus.ACTIVE

    def in_force(self, today: date) -> bool:
        return self.status == AgreementStatus.ACTIVE and self.valid_from <= today <= self.valid_to


@dataclass(frozen=True)
class Consent:
    """A learner's choices; version 0 is the default drawn from the registration."""

    uln: str
    version: int = 0
    sharing: bool = False
    restricted: frozenset[str] | None = None  # event ids the restricted view shows; None: all
    basic_only: bool = False
    nominations: Mapping[str, date] = field(default_factory=dict)  # org id -> last day
    # The learner chose to share or not through the portal: the MIS's AbilityToShare no longer counts.
    chose_sharing: bool = False

    def nominated(self, org_id: str, today: date) -> bool:
        until = self.nominations.get(org_id)
        return until is not None and today <= until

    @classmethod
    def default_for(cls, learner: Learner) -> "Consent":
        """Before any choice: the registration's AbilityToShare (only 1, notice seen and may share, shares)."""
        return cls(learner.uln, sharing=_mis_shares(learner))

    def following(self, learner: Learner) -> "Consent":
        """These choices once the provider's AbilityToShare is `learner`'s: the learner's own choice wins."""
        return self if self.chose_sharing else replace(self, sharing=_mis_shares(learner))


def _mis_shares(learner: Learner) -> bool:
    return learner.details.ability_to_share == AbilityToShare.SEEN_MAY_SHARE


@dataclass(frozen=True)
class Offer:
    """Something a partner might receive about one learner: an entry of a feed, with all its fields."""

    feed: Feed
    uln: str
    fields: Mapping[str, Any]
    event_id: str | None = None  # a learning event's id; None for learner details
    version: int | None = None


@dataclass(frozen=True)
class Grant:
    """Allowed: exactly these fields, on the strength of this agreement version and consent version."""

    fields: dict[str, Any]
    agreement: Agreement
    consent_version: int
    purpose: str


@dataclass(frozen=True)
class Denial:
    reason: str
    opted_out: bool = False  # the learner does not share: the LRS answers WSEC0206


Ruling = Grant | Denial


def agreement_for(
    agreements: Sequence[Agreement], partner: str, purpose: str, feed: Feed, today: date
) -> Agreement | Denial:
    """The partner's agreement in force that covers the purpose and the feed, or why there is none.

    Only each agreement's latest version counts, whatever `agreements` holds (a revoked agreement
    never comes back to life through an earlier version)."""
    latest: dict[str, Agreement] = {}
    for a in agreements:
        newer = a.agreement_id not in latest or a.version > latest[a.agreement_id].version
        if a.partner == partner and newer:
            latest[a.agreement_id] = a
    mine = [a for a in latest.values() if a.status != AgreementStatus.REVOKED]
    if not mine:
        return Denial("no data sharing agreement")
    agreement = max(mine, key=lambda a: a.version)
    if agreement.status == AgreementStatus.SUSPENDED:
        return Denial(f"agreement {agreement.agreement_id} is suspended")
    if not agreement.in_force(today):
        return Denial(f"agreement {agreement.agreement_id} is not in force on {today.isoformat()}")
    if purpose not in agreement.purposes:
        return Denial(f"agreement {agreement.agreement_id} does not cover the purpose {purpose}")
    if feed not in agreement.feeds:
        return Denial(f"agreement {agreement.agreement_id} does not cover the {feed} feed")
    return agreement


def decide(
    recipient: Organisation, agreements: Sequence[Agreement], consent: Consent, offer: Offer, purpose: str, today: date
) -> Ruling:
    """Apply the rules of this module's docstring to one offer."""
    if recipient.kind != OrganisationKind.PARTNER or not recipient.active:
        return Denial("only active partners receive shared data")
    agreement = agreement_for(agreements, recipient.org_id, purpose, offer.feed, today)
    if isinstance(agreement, Denial):
        return agreement
    if not consent.sharing:
        return Denial("the learner does not share their record", opted_out=True)
    if agreement.scope == Scope.NOMINATED and not consent.nominated(recipient.org_id, today):
        return Denial("the learner has not nominated this organisation, or the nomination ended")
    allowed = agreement.fields
    if offer.feed == Feed.LEARNER_DETAILS:
        if consent.basic_only:
            allowed = allowed & BASIC_DETAILS
    else:
        if consent.basic_only:
            return Denial("the learner shares basic details only")
        if consent.restricted is not None and offer.event_id not in consent.restricted:
            return Denial("the entry is not in the learner's restricted view")
    projected = {k: v for k, v in offer.fields.items() if k in allowed}
    if not projected:
        return Denial("the agreement permits none of the entry's fields")
    return Grant(projected, agreement, consent.version, purpose)

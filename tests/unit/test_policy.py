"""The disclosure policy for partners (hub.sharing.policy): each rule of its docstring, in isolation."""

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from contracts.codes import AbilityToShare, OrganisationKind
from hub.kernel.model import Organisation, OrganisationStatus
from hub.sharing.policy import (
    Agreement,
    AgreementStatus,
    Consent,
    Denial,
    Feed,
    Grant,
    Offer,
    Scope,
    agreement_for,
    decide,
)

from .builders import fresh_uln, learner

TODAY = date(2026, 11, 29)
PURPOSE = "admissions"
UNIVERSITY = Organisation("20000001", OrganisationKind.PARTNER, "University of Northgate")
ULN = fresh_uln()

AGREEMENT = Agreement(
    agreement_id="DSA-UNI",
    partner=UNIVERSITY.org_id,
    version=3,
    purposes=frozenset({PURPOSE}),
    feeds=frozenset({Feed.ACHIEVEMENTS, Feed.LEARNER_DETAILS}),
    fields=frozenset({"uln", "subject", "grade", "given_name", "family_name", "date_of_birth", "gender"}),
    scope=Scope.ALL_NOT_OPTED_OUT,
    valid_from=date(2026, 1, 1),
    valid_to=date(2027, 12, 31),
)
SHARING = Consent(ULN, version=4, sharing=True)

ACHIEVEMENT = Offer(
    Feed.ACHIEVEMENTS,
    ULN,
    {"uln": ULN, "awarding_organisation": "100062", "subject": "Mathematics", "grade": "7", "credits": None},
    event_id="ev-maths",
    version=2,
)
PARTICIPATION = Offer(
    Feed.PARTICIPATION, ULN, {"uln": ULN, "learning_aim_reference": "50079116"}, event_id="ev-alevel", version=1
)
DETAILS = Offer(
    Feed.LEARNER_DETAILS,
    ULN,
    {
        "uln": ULN,
        "given_name": "Amelia",
        "family_name": "Okafor",
        "date_of_birth": "2008-04-12",
        "gender": 2,
        "last_known_postcode": "SW1A 1AA",
    },
)


def ruling(
    recipient: Organisation = UNIVERSITY,
    agreements: tuple[Agreement, ...] = (AGREEMENT,),
    consent: Consent = SHARING,
    offer: Offer = ACHIEVEMENT,
    purpose: str = PURPOSE,
    today: date = TODAY,
) -> Any:
    return decide(recipient, agreements, consent, offer, purpose, today)


def granted(fields: dict[str, Any], agreement: Agreement = AGREEMENT, consent: Consent = SHARING) -> Grant:
    return Grant(fields, agreement, consent.version, PURPOSE)


MATHS_PROJECTED = {"uln": ULN, "subject": "Mathematics", "grade": "7"}


def test_everything_in_order_grants_the_projection() -> None:
    """A sharing learner, an agreement in force covering purpose and feed: the agreed fields, stamped."""
    assert ruling() == granted(MATHS_PROJECTED)


# --- 1. the recipient -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "recipient",
    [
        replace(UNIVERSITY, status=OrganisationStatus.SUSPENDED),
        replace(UNIVERSITY, kind=OrganisationKind.PROVIDER),
        replace(UNIVERSITY, kind=OrganisationKind.AWARDING_ORGANISATION),
        replace(UNIVERSITY, kind=OrganisationKind.LEARNER_PORTAL),
    ],
    ids=["suspended partner", "provider", "awarding organisation", "learner portal"],
)
def test_only_active_partners_receive(recipient: Organisation) -> None:
    """A suspended partner, or any organisation that is not a partner, is refused even with an agreement."""
    assert ruling(recipient=recipient) == Denial("only active partners receive shared data")


# --- 2. the agreement -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "agreements",
    [(), (replace(AGREEMENT, partner="20000002"),)],
    ids=["none at all", "another partner's"],
)
def test_without_an_agreement_nothing_is_shared(agreements: tuple[Agreement, ...]) -> None:
    """A partner with no agreement of its own is refused."""
    assert ruling(agreements=agreements) == Denial("no data sharing agreement")


def test_a_suspended_agreement_refuses() -> None:
    """A suspended agreement allows nothing until resumed."""
    suspended = replace(AGREEMENT, status=AgreementStatus.SUSPENDED)
    assert ruling(agreements=(suspended,)) == Denial("agreement DSA-UNI is suspended")


def test_a_revoked_agreement_is_no_agreement() -> None:
    """The latest version revoked: the partner has no agreement."""
    revoked = replace(AGREEMENT, version=4, status=AgreementStatus.REVOKED)
    assert ruling(agreements=(revoked,)) == Denial("no data sharing agreement")


def test_after_a_revocation_the_new_agreement_rules_even_with_a_lower_version() -> None:
    """A revoked DSA (version 4) and a newly approved one (version 1): decisions rely on the new one."""
    revoked = replace(AGREEMENT, version=4, status=AgreementStatus.REVOKED)
    fresh = replace(AGREEMENT, agreement_id="DSA-UNI-2", version=1, fields=frozenset({"uln", "grade"}))
    assert ruling(agreements=(revoked, fresh)) == granted({"uln": ULN, "grade": "7"}, agreement=fresh)


@pytest.mark.parametrize(
    ("today", "in_force"),
    [
        (date(2025, 12, 31), False),
        (date(2026, 1, 1), True),
        (date(2027, 12, 31), True),
        (date(2028, 1, 1), False),
    ],
    ids=["day before valid_from", "valid_from", "valid_to", "day after valid_to"],
)
def test_the_agreement_is_in_force_from_valid_from_to_valid_to_inclusive(today: date, in_force: bool) -> None:
    """valid_from and valid_to are both days the agreement holds; the days either side it does not."""
    expected = granted(MATHS_PROJECTED) if in_force else Denial(f"agreement DSA-UNI is not in force on {today}")
    assert ruling(today=today) == expected
    assert AGREEMENT.in_force(today) is in_force


def test_a_purpose_the_agreement_does_not_name_is_refused() -> None:
    """Data agreed for admissions is not given for marketing."""
    assert ruling(purpose="marketing") == Denial("agreement DSA-UNI does not cover the purpose marketing")


def test_a_feed_the_agreement_does_not_name_is_refused() -> None:
    """An agreement for achievements and details does not reach participation."""
    assert ruling(offer=PARTICIPATION) == Denial("agreement DSA-UNI does not cover the participation feed")


# --- 3. the learner shares --------------------------------------------------------------------


def test_a_learner_who_does_not_share_is_refused_as_opted_out() -> None:
    """Not sharing is the one refusal marked opted_out (the LRS answers WSEC0206)."""
    assert ruling(consent=replace(SHARING, sharing=False)) == Denial(
        "the learner does not share their record", opted_out=True
    )


def test_an_agreement_refusal_comes_before_the_learners_choice() -> None:
    """With no agreement in force the refusal names the agreement, not the learner: opted_out stays False."""
    suspended = replace(AGREEMENT, status=AgreementStatus.SUSPENDED)
    assert ruling(agreements=(suspended,), consent=replace(SHARING, sharing=False)) == Denial(
        "agreement DSA-UNI is suspended"
    )


@pytest.mark.parametrize(
    ("ability", "sharing"),
    [(AbilityToShare.NOTICE_NOT_SEEN, False), (AbilityToShare.SEEN_MAY_SHARE, True),
     (AbilityToShare.SEEN_MAY_NOT_SHARE, False)],
    ids=["0 notice not seen", "1 seen, may share", "2 seen, may not share"],
)  # fmt: skip
def test_default_consent_follows_the_registrations_ability_to_share(ability: AbilityToShare, sharing: bool) -> None:
    """Before any choice, only AbilityToShare 1 shares; the default is version 0 with no restrictions."""
    amelia = learner(ability_to_share=ability)
    assert Consent.default_for(amelia) == Consent(amelia.uln, version=0, sharing=sharing)


# --- 4. nominations ---------------------------------------------------------------------------

NOMINATED = replace(AGREEMENT, scope=Scope.NOMINATED)
UNTIL = date(2026, 12, 31)


@pytest.mark.parametrize(
    ("nominations", "today", "allowed"),
    [
        ({UNIVERSITY.org_id: UNTIL}, TODAY, True),
        ({UNIVERSITY.org_id: UNTIL}, UNTIL, True),
        ({UNIVERSITY.org_id: UNTIL}, UNTIL + timedelta(days=1), False),
        ({}, TODAY, False),
        ({"20000002": UNTIL}, TODAY, False),
    ],
    ids=["before until", "on until", "day after until", "no nomination", "another organisation nominated"],
)
def test_a_nominated_scope_needs_a_nomination_of_the_partner_through_until(
    nominations: dict[str, date], today: date, allowed: bool
) -> None:
    """`until` is the last day a nomination holds; only a nomination of this partner counts."""
    consent = replace(SHARING, nominations=nominations)
    expected = (
        granted(MATHS_PROJECTED, agreement=NOMINATED, consent=consent)
        if allowed
        else Denial("the learner has not nominated this organisation, or the nomination ended")
    )
    assert ruling(agreements=(NOMINATED,), consent=consent, today=today) == expected


def test_an_all_learners_scope_needs_no_nomination() -> None:
    """Under all_not_opted_out a sharing learner with no nominations at all is granted."""
    assert SHARING.nominations == {}
    assert ruling(agreements=(AGREEMENT,)) == granted(MATHS_PROJECTED)


# --- 5. basic details only, the restricted view ------------------------------------------------

BASIC_ONLY = replace(SHARING, basic_only=True)


def test_basic_details_only_hides_learning_events() -> None:
    """A learner sharing basic details only shows no achievement."""
    assert ruling(consent=BASIC_ONLY) == Denial("the learner shares basic details only")


def test_basic_details_only_keeps_only_the_basic_learner_details() -> None:
    """Of the agreed details, gender (not basic) goes; ULN, names and birth date stay; the postcode was never agreed."""
    expected = {"uln": ULN, "given_name": "Amelia", "family_name": "Okafor", "date_of_birth": "2008-04-12"}
    assert ruling(consent=BASIC_ONLY, offer=DETAILS) == granted(expected, consent=BASIC_ONLY)


def test_learner_details_without_basic_only_are_the_agreed_fields() -> None:
    """Not basic only: every agreed detail, gender included; still never the unagreed postcode."""
    expected = {"uln": ULN, "given_name": "Amelia", "family_name": "Okafor", "date_of_birth": "2008-04-12", "gender": 2}
    assert ruling(offer=DETAILS) == granted(expected)


@pytest.mark.parametrize(
    ("restricted", "allowed"),
    [(None, True), (frozenset({"ev-maths", "ev-other"}), True), (frozenset({"ev-other"}), False),
     (frozenset(), False)],
    ids=["no restriction", "listed", "not listed", "empty view"],
)  # fmt: skip
def test_a_restricted_view_shows_only_the_events_it_lists(restricted: frozenset[str] | None, allowed: bool) -> None:
    """A restricted view by event ids: a listed event goes, any other is refused."""
    consent = replace(SHARING, restricted=restricted)
    expected = (
        granted(MATHS_PROJECTED, consent=consent)
        if allowed
        else Denial("the entry is not in the learner's restricted view")
    )
    assert ruling(consent=consent) == expected


def test_a_restricted_view_does_not_hide_learner_details() -> None:
    """An empty restricted view still lets the agreed details through: it lists learning events only."""
    consent = replace(SHARING, restricted=frozenset())
    expected = {"uln": ULN, "given_name": "Amelia", "family_name": "Okafor", "date_of_birth": "2008-04-12", "gender": 2}
    assert ruling(consent=consent, offer=DETAILS) == granted(expected, consent=consent)


# --- 6. the projection ------------------------------------------------------------------------


def test_the_projection_is_the_intersection_of_entry_and_agreement() -> None:
    """Fields in both are kept with their values (None too); fields in only one of them are not."""
    agreement = replace(AGREEMENT, fields=frozenset({"grade", "credits", "level", "email_address"}))
    assert ruling(agreements=(agreement,)) == granted({"grade": "7", "credits": None}, agreement=agreement)


def test_an_empty_projection_is_refused() -> None:
    """An agreement naming none of the entry's fields sends nothing, and says why."""
    agreement = replace(AGREEMENT, fields=frozenset({"last_known_postcode"}))
    assert ruling(agreements=(agreement,)) == Denial("the agreement permits none of the entry's fields")


def test_basic_details_only_can_empty_the_projection() -> None:
    """Agreed only gender and postcode, a basic-only learner's details permit nothing: refused."""
    agreement = replace(AGREEMENT, fields=frozenset({"gender", "last_known_postcode"}))
    assert ruling(agreements=(agreement,), consent=BASIC_ONLY, offer=DETAILS) == Denial(
        "the agreement permits none of the entry's fields"
    )


# --- agreement_for ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agreements", "purpose", "feed", "today", "expected"),
    [
        ((AGREEMENT,), PURPOSE, Feed.ACHIEVEMENTS, TODAY, AGREEMENT),
        ((AGREEMENT,), PURPOSE, Feed.LEARNER_DETAILS, TODAY, AGREEMENT),
        ((), PURPOSE, Feed.ACHIEVEMENTS, TODAY, Denial("no data sharing agreement")),
        ((replace(AGREEMENT, status=AgreementStatus.REVOKED),), PURPOSE, Feed.ACHIEVEMENTS, TODAY,
         Denial("no data sharing agreement")),
        ((replace(AGREEMENT, status=AgreementStatus.SUSPENDED),), PURPOSE, Feed.ACHIEVEMENTS, TODAY,
         Denial("agreement DSA-UNI is suspended")),
        ((AGREEMENT,), PURPOSE, Feed.ACHIEVEMENTS, date(2028, 1, 1),
         Denial("agreement DSA-UNI is not in force on 2028-01-01")),
        ((AGREEMENT,), "research", Feed.ACHIEVEMENTS, TODAY,
         Denial("agreement DSA-UNI does not cover the purpose research")),
        ((AGREEMENT,), PURPOSE, Feed.PARTICIPATION, TODAY,
         Denial("agreement DSA-UNI does not cover the participation feed")),
    ],
    ids=["achievements", "learner details", "none", "revoked", "suspended", "expired", "purpose", "feed"],
)  # fmt: skip
def test_agreement_for_finds_the_agreement_in_force_or_says_why_not(
    agreements: tuple[Agreement, ...], purpose: str, feed: Feed, today: date, expected: Agreement | Denial
) -> None:
    """The partner's agreement covering purpose and feed today, or the first reason there is none."""
    assert agreement_for(agreements, UNIVERSITY.org_id, purpose, feed, today) == expected


def test_agreement_for_ignores_other_partners_agreements() -> None:
    """Another partner's agreement in force never stands in for this partner's."""
    theirs = replace(AGREEMENT, agreement_id="DSA-OTHER", partner="20000002")
    assert agreement_for((theirs,), UNIVERSITY.org_id, PURPOSE, Feed.ACHIEVEMENTS, TODAY) == Denial(
        "no data sharing agreement"
    )

"""The gate's one decision: may `recipient` receive `what` about `learner` for `purpose`?

`decide` answers it for every kind of recipient, by what is to be disclosed:

- no learner data (an answer's code, a rejection): anyone may receive it;
- a Learner Register answer (a register view, a match candidate): an active provider, for
  registration, and a register view only of a learner it submitted;
- a PLR message (verification, receipt, challenge notice, answer and outcome) and a learner's
  own data for the learner portal: the kinds of recipient and the purpose `_RULES` names;
- a partner's item (an `Offer`): the rules of hub/sharing/policy.py, under the partner's agreement and
  the learner's consent (a `SharingContext`).

Allowed carries exactly the fields the rule permits (a projection, never the whole record);
`audit` makes the entry every decision gets, allowed or refused.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from contracts.base import Contract
from contracts.codes import OrganisationKind
from contracts.learner import Candidate, LearnerView
from contracts.plr import ChallengeAnswer, ChallengeNotice, ChallengeOutcome
from contracts.sharing import ConsentAnswer, Disclosures, OwnRecord, Preview
from hub.kernel.model import Learner, Organisation
from hub.kernel.ports import AuditEntry, UnitOfWork
from hub.kernel.vocabulary import Purpose, What, feed_item
from hub.register.matching import ScoredLearner
from hub.sharing import policy
from hub.sharing.policy import Agreement, Consent, Grant, Offer


@dataclass(frozen=True)
class Basis:
    """The agreement version and the learner's consent version a partner's decision relied on."""

    agreement_id: str | None
    agreement_version: int | None
    consent_version: int


@dataclass(frozen=True)
class Allowed:
    view: Contract | None
    fields: tuple[str, ...]
    grant: Grant | None = None  # a partner's item: the projection and the agreement behind it
    basis: Basis | None = None


@dataclass(frozen=True)
class Refused:
    reason: str
    basis: Basis | None = None
    opted_out: bool = False  # the learner does not share: a record request answers WSEC0206


Decision = Allowed | Refused


@dataclass(frozen=True)
class _Rule:
    """Who may receive one kind of message, for which purpose, and which fields it carries.

    `refusal`, when set, is the one reason given to any recipient of another kind or suspended.
    A Learner Register answer (`register`) is projected from the learner's record, and a register
    view only of a learner the provider submitted."""

    kinds: frozenset[OrganisationKind]
    purpose: Purpose
    fields: tuple[str, ...]
    refusal: str = ""
    register: bool = False


_PROVIDERS = frozenset({OrganisationKind.PROVIDER})
_SENDERS_OF_RECORDS = frozenset({OrganisationKind.AWARDING_ORGANISATION, OrganisationKind.PROVIDER})
_PORTAL = frozenset({OrganisationKind.LEARNER_PORTAL})
_ONLY_PROVIDERS = "only active learning providers receive Learner Register answers"
_ONLY_THE_PORTAL = "only the active learner portal receives a learner's own data"
# A provider's rule for anything of the Learner Register no other rule names: refused past the
# recipient and the purpose, with "no policy lets a provider receive" it.
_REGISTER = _Rule(_PROVIDERS, Purpose.REGISTRATION, (), _ONLY_PROVIDERS, register=True)
VERIFICATION_FIELDS = ("uln", "response_code")

_RULES: dict[What, _Rule] = {
    What.REGISTER_VIEW: replace(_REGISTER, fields=tuple(LearnerView.model_fields)),
    What.MATCH_CANDIDATE: replace(_REGISTER, fields=tuple(Candidate.model_fields)),
    What.VERIFICATION: _Rule(
        frozenset({OrganisationKind.AWARDING_ORGANISATION}), Purpose.VERIFICATION, VERIFICATION_FIELDS
    ),
    What.RECEIPT: _Rule(_SENDERS_OF_RECORDS, Purpose.RECEIPT, ("uln", "event_id", "version", "outcome")),
    What.CHALLENGE_NOTICE: _Rule(_SENDERS_OF_RECORDS, Purpose.CHALLENGE, tuple(ChallengeNotice.model_fields)),
    What.CHALLENGE_ANSWER: _Rule(_PORTAL, Purpose.CHALLENGE, tuple(ChallengeAnswer.model_fields)),
    What.CHALLENGE_OUTCOME: _Rule(_PORTAL, Purpose.CHALLENGE, tuple(ChallengeOutcome.model_fields)),
    What.CONSENT_ANSWER: _Rule(_PORTAL, Purpose.LEARNER_ACCESS, tuple(ConsentAnswer.model_fields), _ONLY_THE_PORTAL),
    What.OWN_RECORD: _Rule(_PORTAL, Purpose.LEARNER_ACCESS, tuple(OwnRecord.model_fields), _ONLY_THE_PORTAL),
    What.PREVIEW: _Rule(_PORTAL, Purpose.LEARNER_ACCESS, tuple(Preview.model_fields), _ONLY_THE_PORTAL),
    What.DISCLOSURES: _Rule(_PORTAL, Purpose.LEARNER_ACCESS, tuple(Disclosures.model_fields), _ONLY_THE_PORTAL),
}
_NO_LEARNER_DATA = frozenset({What.REJECTION, What.ANSWER})


@dataclass
class SharingContext:
    """What one unit of work's partner decisions rely on, read once: agreements and consents."""

    today: date
    agreements: list[Agreement]
    consents: dict[str, Consent]

    def consent(self, uln: str) -> Consent:
        return self.consents.get(uln) or Consent(uln)


async def sharing_context(uow: UnitOfWork, ulns: Sequence[str], today: date) -> SharingContext:
    """Agreements and the learners' consents (their registration's default where they never chose)."""
    wanted = sorted(set(ulns))
    consents = await uow.sharing.consents(wanted)
    missing = [u for u in wanted if u not in consents]
    if missing:
        consents |= {u: Consent.default_for(x) for u, x in (await uow.learners.get_many(missing)).items()}
    return SharingContext(today, await uow.sharing.agreements(), consents)


async def decide(
    uow: UnitOfWork,
    recipient: Organisation,
    learner: Learner | ScoredLearner | str | None,
    what: What | Offer,
    purpose: str,
    sharing: SharingContext | None = None,
) -> Decision:
    """Decide whether `recipient` may receive `what` about `learner` (the record, a scored
    candidate, or its ULN; None: no learner data) for `purpose`.

    A partner's item (`what` an Offer) is decided under `sharing`, the agreements and consents."""
    if isinstance(what, Offer):
        assert sharing is not None, "a partner's item is decided under its agreements and the learner's consent"
        # The learner's choices decide, whichever of their ULNs the entry is filed under.
        return _decide_offer(recipient, learner if isinstance(learner, str) else what.uln, what, purpose, sharing)
    if what in _NO_LEARNER_DATA and learner is None:
        return Allowed(None, ())
    rule = _RULES.get(what, _REGISTER)
    if recipient.kind not in rule.kinds or not recipient.active:
        if rule.refusal:
            return Refused(rule.refusal)
        if not recipient.active:
            return Refused("the recipient is suspended")
        return Refused(f"a {recipient.kind} does not receive {what}")
    if purpose != rule.purpose:
        if rule.register:
            return Refused(f"purpose {purpose} does not cover learner data for a provider")
        return Refused(f"{what} is sent only for {rule.purpose}")
    if rule.register:
        return await _decide_register(uow, recipient, learner, what, rule)
    return Allowed(None, rule.fields)


async def _decide_register(
    uow: UnitOfWork, provider: Organisation, learner: Learner | ScoredLearner | str | None, what: What, rule: _Rule
) -> Decision:
    if what == What.MATCH_CANDIDATE and isinstance(learner, ScoredLearner):
        # Candidates answer the provider's own search: just enough to tell them apart.
        return Allowed(_candidate_view(learner), rule.fields)
    if what == What.REGISTER_VIEW and isinstance(learner, Learner):
        if await uow.learners.is_linked(learner.uln, provider.org_id):
            return Allowed(_register_view(learner), rule.fields)
        return Refused("the recipient has not submitted this learner")
    return Refused(f"no policy lets a provider receive {what}")


def _decide_offer(partner: Organisation, uln: str, offer: Offer, purpose: str, ctx: SharingContext) -> Decision:
    """hub/sharing/policy.py's rules under learner `uln`'s consent, and the agreement and consent versions relied on."""
    consent = ctx.consent(uln)
    ruling = policy.decide(partner, ctx.agreements, consent, offer, purpose, ctx.today)
    if isinstance(ruling, Grant):
        a = ruling.agreement
        basis = Basis(a.agreement_id, a.version, consent.version)
        return Allowed(None, tuple(sorted(ruling.fields)), ruling, basis)
    agreement = policy.agreement_for(ctx.agreements, partner.org_id, purpose, offer.feed, ctx.today)
    if isinstance(agreement, Agreement):
        return Refused(
            ruling.reason, Basis(agreement.agreement_id, agreement.version, consent.version), ruling.opted_out
        )
    return Refused(ruling.reason, Basis(None, None, consent.version), ruling.opted_out)


def _register_view(learner: Learner) -> LearnerView:
    d = learner.details
    return LearnerView(
        uln=learner.uln,
        version=learner.version,
        given_name=d.given_name,
        family_name=d.family_name,
        date_of_birth=d.date_of_birth,
        gender=d.gender,
        last_known_postcode=d.last_known_postcode,
        linked_ulns=learner.linked_ulns,
    )


def _candidate_view(scored: ScoredLearner) -> Candidate:
    d = scored.learner.details
    return Candidate(
        uln=scored.learner.uln,
        given_name=d.given_name,
        family_name=d.family_name,
        date_of_birth=d.date_of_birth,
        gender=d.gender,
        last_known_postcode=d.last_known_postcode,
        differing_fields=list(scored.differing_fields),
        score=scored.score,
        agreement=scored.agreement,
    )


def what_of(what: What | Offer) -> str:
    """How the audit log names what was decided: a partner's item by its feed and event."""
    return feed_item(what.feed, what.event_id) if isinstance(what, Offer) else what


async def audit(
    uow: UnitOfWork,
    decision: Decision,
    *,
    at: datetime,
    recipient: str,
    uln: str | None,
    what: What | Offer | str,
    purpose: str,
    correlation_id: str | None,
    reason: str | None = None,
) -> None:
    """Write the entry a decision gets, allowed or refused (`reason`: what the learner's log says
    of it, when not the refusal's own reason)."""
    basis = decision.basis
    await uow.audit.append(
        AuditEntry.of(
            allowed=isinstance(decision, Allowed),
            at=at,
            recipient=recipient,
            uln=uln,
            what=what if isinstance(what, str) else what_of(what),
            purpose=purpose,
            reason=reason if reason is not None else decision.reason if isinstance(decision, Refused) else "",
            fields=decision.fields if isinstance(decision, Allowed) else (),
            correlation_id=correlation_id,
            agreement_id=basis.agreement_id if basis else None,
            agreement_version=basis.agreement_version if basis else None,
            consent_version=basis.consent_version if basis else None,
        )
    )


async def decide_and_audit(
    uow: UnitOfWork,
    recipient: Organisation,
    learner: Learner | ScoredLearner | str | None,
    what: What | Offer,
    purpose: str,
    *,
    uln: str | None,
    at: datetime,
    correlation_id: str | None,
    sharing: SharingContext | None = None,
) -> Decision:
    """`decide`, and audit the decision about the learner `uln`: the step every message that leaves takes."""
    decision = await decide(uow, recipient, learner, what, purpose, sharing)
    await audit(
        uow,
        decision,
        at=at,
        recipient=recipient.org_id,
        uln=uln,
        what=what,
        purpose=purpose,
        correlation_id=correlation_id,
    )
    return decision

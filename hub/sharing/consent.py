"""Learners' choices, through the learner portal: sharing, the restricted view, nominations; and
what a learner may read: their full record, a preview of what an organisation would see, and
every disclosure decision about them.

Every change raises the consent version (decisions name the version they relied on) and is
followed by a recheck of what partners hold: whatever they may no longer hold is recalled.
"""

from dataclasses import replace
from datetime import datetime
from typing import Any

from contracts.base import Contract
from contracts.sharing import (
    ConsentAnswer,
    ConsentView,
    DisclosureEntry,
    Disclosures,
    Nominate,
    OwnRecord,
    Preview,
    PreviewView,
    ReadDisclosures,
    ReadOwnRecord,
    SetRestrictedView,
    SetSharing,
    WithdrawNomination,
)
from hub.disclosure import DETAILS_KEY, Allowed, Refused, decide, delivered_item, sharing_context
from hub.kernel.model import Organisation
from hub.kernel.ports import AuditEntry, UnitOfWork
from hub.kernel.vocabulary import What
from hub.pipeline.drafts import PortalDraft
from hub.records import plr
from hub.register.linking import resolve_master, ulns_of
from hub.sharing import feeds
from hub.sharing.policy import Consent


def view(consent: Consent) -> ConsentView:
    restricted = sorted(consent.restricted) if consent.restricted is not None else None
    return ConsentView(
        version=consent.version,
        sharing=consent.sharing,
        restricted_event_ids=restricted,
        basic_details_only=consent.basic_only,
        nominations=dict(consent.nominations),
    )


async def _change(uow: UnitOfWork, request: Contract, uln: str, change: Any, now: datetime) -> PortalDraft:
    """Apply `change(consent) -> consent`; if it changed anything, save it and recall what partners
    may no longer hold."""
    kind = request.message_type
    learner, _ = await resolve_master(uow, uln)  # a learner's choices are held under the master's ULN
    if learner is None:
        answer = ConsentAnswer(request_type=kind, uln=uln, outcome="refused", reason=f"no learner has ULN {uln}")
        return PortalDraft(answer, uln, What.CONSENT_ANSWER)
    master = learner.uln
    ctx = await sharing_context(uow, [master], now.date())
    current = ctx.consent(master)
    wanted = change(current)
    if isinstance(wanted, str):
        answer = ConsentAnswer(request_type=kind, uln=master, outcome="refused", reason=wanted, consent=view(current))
        return PortalDraft(answer, master, What.CONSENT_ANSWER)
    if replace(wanted, version=current.version) == current:
        answer = ConsentAnswer(request_type=kind, uln=master, outcome="unchanged", consent=view(current))
        return PortalDraft(answer, master, What.CONSENT_ANSWER)
    saved = replace(wanted, version=current.version + 1)
    await uow.sharing.save_consent(saved)
    await feeds.recheck(uow, now, ulns=[master])
    answer = ConsentAnswer(request_type=kind, uln=master, outcome="applied", consent=view(saved))
    return PortalDraft(answer, master, What.CONSENT_ANSWER)


async def set_sharing(uow: UnitOfWork, sender: Organisation, request: SetSharing, now: datetime) -> PortalDraft:
    # Her own choice: from now on it, not the provider's AbilityToShare, decides (hub/sharing/policy.py).
    choice = request.share
    return await _change(uow, request, request.uln, lambda c: replace(c, sharing=choice, chose_sharing=True), now)


async def set_restricted_view(
    uow: UnitOfWork, sender: Organisation, request: SetRestrictedView, now: datetime
) -> PortalDraft:
    chosen = frozenset(request.event_ids) if request.event_ids is not None else None
    basic = request.basic_details_only
    return await _change(uow, request, request.uln, lambda c: replace(c, restricted=chosen, basic_only=basic), now)


async def nominate(uow: UnitOfWork, sender: Organisation, request: Nominate, now: datetime) -> PortalDraft:
    today = now.date()
    organisation = await uow.organisations.get(request.org_id)

    def _nominate(c: Consent) -> Consent | str:
        if organisation is None:
            return f"no organisation {request.org_id}"
        if request.until < today:
            return "a nomination cannot end in the past"
        return replace(c, nominations={**c.nominations, request.org_id: request.until})

    return await _change(uow, request, request.uln, _nominate, now)


async def withdraw_nomination(
    uow: UnitOfWork, sender: Organisation, request: WithdrawNomination, now: datetime
) -> PortalDraft:
    def _withdraw(c: Consent) -> Consent:
        return replace(c, nominations={o: d for o, d in c.nominations.items() if o != request.org_id})

    return await _change(uow, request, request.uln, _withdraw, now)


# --- What a learner may read ------------------------------------------------------------------


async def read_record(uow: UnitOfWork, sender: Organisation, request: ReadOwnRecord, now: datetime) -> PortalDraft:
    """The learner's full record: register details, every PLR entry, their choices."""
    today = now.date()
    learner, _ = await resolve_master(uow, request.uln)
    if learner is None:
        return PortalDraft(OwnRecord(uln=request.uln, found=False), request.uln, What.OWN_RECORD)
    _, entries = await plr.record_of(uow, learner.uln)
    ctx = await sharing_context(uow, [learner.uln], today)
    details = learner.details.model_dump(mode="json", exclude_none=True)
    record = OwnRecord(
        uln=learner.uln,
        found=True,
        details=details,
        events=[plr.view(e) for e in entries],
        consent=view(ctx.consent(learner.uln)),
    )
    return PortalDraft(record, learner.uln, What.OWN_RECORD)


async def preview(uow: UnitOfWork, sender: Organisation, request: PreviewView, now: datetime) -> PortalDraft:
    """Exactly what `org_id` would receive today, under each purpose its agreement covers."""
    today = now.date()
    learner, _ = await resolve_master(uow, request.uln)
    organisation = await uow.organisations.get(request.org_id)
    if learner is None or organisation is None:
        why = "no such learner" if learner is None else f"no organisation {request.org_id}"
        return PortalDraft(
            Preview(uln=request.uln, org_id=request.org_id, refused={"all": why}), request.uln, What.PREVIEW
        )
    _, entries = await plr.record_of(uow, learner.uln)
    offers = [*(feeds.entry_offer(e) for e in entries if not e.withdrawn), feeds.details_offer(learner)]
    ctx = await sharing_context(uow, [learner.uln], today)
    agreement = max(
        (a for a in ctx.agreements if a.partner == organisation.org_id), key=lambda a: a.version, default=None
    )
    purposes = sorted(agreement.purposes) if agreement else ["none"]
    items, refused = [], {}
    for offer in offers:
        # What the gate would decide, not a disclosure to the organisation: nothing is audited
        # but the preview itself, sent to the learner.
        decisions = [await decide(uow, organisation, learner.uln, offer, p, ctx) for p in purposes]
        grant = next((d.grant for d in decisions if isinstance(d, Allowed) and d.grant is not None), None)
        if grant is not None:
            items.append(delivered_item(offer, grant))
        else:
            denial = decisions[0]
            assert isinstance(denial, Refused)
            refused[f"{offer.feed}:{offer.event_id or DETAILS_KEY}"] = denial.reason
    return PortalDraft(
        Preview(uln=learner.uln, org_id=organisation.org_id, items=items, refused=refused),
        learner.uln,
        What.PREVIEW,
    )


def _entry(e: AuditEntry) -> DisclosureEntry:
    return DisclosureEntry(
        at=e.at,
        recipient=e.recipient,
        what=e.what,
        purpose=e.purpose,
        decision=e.decision,
        reason=e.reason,
        fields=list(e.fields),
        agreement_id=e.agreement_id,
        agreement_version=e.agreement_version,
        consent_version=e.consent_version,
    )


async def read_disclosures(
    uow: UnitOfWork, sender: Organisation, request: ReadDisclosures, now: datetime
) -> PortalDraft:
    """Every decision about the learner (and any ULN linked to them), allowed or refused."""
    master, ulns = await ulns_of(uow, request.uln)
    entries = [_entry(e) for e in await uow.audit.about(ulns)]
    return PortalDraft(Disclosures(uln=master, entries=entries), master, What.DISCLOSURES)

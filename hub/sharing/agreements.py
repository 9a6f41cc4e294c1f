"""Data sharing agreements, as an operator approves and changes them (`hub dsa ...`).

A partner holds at most one agreement that is not revoked. Every change is a new version;
decisions name the version they relied on. Suspending stops the partner's feeds and answers
until resumed (what it holds stays); revoking ends the agreement and recalls everything the
partner holds; amending (fewer purposes, feeds or fields; other dates or scope) recalls what
the new version no longer allows.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from contracts.codes import OrganisationKind
from contracts.sharing import purpose_problem
from hub.kernel.ports import UnitOfWork
from hub.sharing import feeds
from hub.sharing.policy import Agreement, AgreementStatus


@dataclass(frozen=True)
class AgreementChange:
    applied: bool
    agreement: Agreement | None = None
    reason: str = ""
    recalls: int = 0


async def _current(uow: UnitOfWork, agreement_id: str) -> Agreement | None:
    return next((a for a in await uow.sharing.agreements() if a.agreement_id == agreement_id), None)


def _purposes_problem(purposes: Iterable[str]) -> str | None:
    """Why one of `purposes` could never be used: partners name the purpose on the wire."""
    return next((p for p in map(purpose_problem, sorted(purposes)) if p), None)


async def approve(uow: UnitOfWork, agreement: Agreement) -> AgreementChange:
    """Approve a partner's agreement (version 1; `agreement_id` is made here if empty)."""
    partner = await uow.organisations.get(agreement.partner)
    if partner is None or partner.kind != OrganisationKind.PARTNER:
        return AgreementChange(False, reason=f"{agreement.partner} is not a registered partner")
    if problem := _purposes_problem(agreement.purposes):
        return AgreementChange(False, reason=problem)
    live = [a for a in await uow.sharing.agreements() if a.partner == agreement.partner and a.status != "revoked"]
    if live:
        return AgreementChange(False, reason=f"partner already holds agreement {live[0].agreement_id}: amend it")
    if agreement.valid_to < agreement.valid_from:
        return AgreementChange(False, reason="valid_to is before valid_from")
    approved = replace(
        agreement,
        agreement_id=agreement.agreement_id or f"DSA-{uuid.uuid4().hex[:8].upper()}",
        version=1,
        status=AgreementStatus.ACTIVE,
    )
    await uow.sharing.save_agreement(approved)
    return AgreementChange(True, approved)


async def change(uow: UnitOfWork, agreement_id: str, *, now: datetime, **changes: object) -> AgreementChange:
    """A new version with `changes` (purposes, feeds, fields, scope, valid_from, valid_to, status), made
    at `now` (what partners may no longer hold is rechecked as of then)."""
    current = await _current(uow, agreement_id)
    if current is None:
        return AgreementChange(False, reason=f"no agreement {agreement_id}")
    if current.status == AgreementStatus.REVOKED:
        return AgreementChange(False, current, reason="the agreement is revoked: approve a new one")
    updated = replace(current, version=current.version + 1, **changes)  # type: ignore[arg-type]
    # Only new purposes are checked: an agreement approved before the check must still be
    # suspended or revoked.
    if "purposes" in changes and (problem := _purposes_problem(updated.purposes)):
        return AgreementChange(False, current, reason=problem)
    if updated.valid_to < updated.valid_from:
        return AgreementChange(False, current, reason="valid_to is before valid_from")
    await uow.sharing.save_agreement(updated)
    # A suspension itself takes nothing back (feeds.may_keep), but a narrower version does, suspended or not.
    why = f"agreement {agreement_id} version {updated.version} no longer allows it"
    recalls = await feeds.recheck(uow, now, partner=updated.partner, reason=why)
    return AgreementChange(True, updated, recalls=recalls)


async def suspend(uow: UnitOfWork, agreement_id: str, *, now: datetime) -> AgreementChange:
    return await change(uow, agreement_id, now=now, status=AgreementStatus.SUSPENDED)


async def resume(uow: UnitOfWork, agreement_id: str, *, now: datetime) -> AgreementChange:
    return await change(uow, agreement_id, now=now, status=AgreementStatus.ACTIVE)


async def revoke(uow: UnitOfWork, agreement_id: str, *, now: datetime) -> AgreementChange:
    return await change(uow, agreement_id, now=now, status=AgreementStatus.REVOKED)

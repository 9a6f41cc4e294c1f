"""Agreements, consents, subscriptions, what partners hold, notices (hub.kernel.ports.Sharing), over the
fakes and over PostgreSQL."""

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.codes import OrganisationKind
from hub.kernel.errors import TransientError
from hub.kernel.ports import DeliveryRecord, NoticeRecord, Subscription
from hub.sharing.policy import Agreement, AgreementStatus, Consent, Feed, Scope

from .conftest import KEY_VIOLATION, NewUow
from .seeds import seeded, someone

AT = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
TODAY = date(2026, 11, 2)


async def _partner(new_uow: NewUow) -> str:
    return await seeded(new_uow, kind=OrganisationKind.PARTNER)


async def _learners(new_uow: NewUow, n: int) -> list[str]:
    """The ULNs of `n` registered learners, in ULN order."""
    learners = [someone() for _ in range(n)]
    await seeded(new_uow, *learners)
    return sorted(x.uln for x in learners)


def _agreement(partner: str, **overrides: object) -> Agreement:
    fields: dict[str, object] = {
        "agreement_id": f"DSA-{uuid.uuid4().hex[:8].upper()}",
        "partner": partner,
        "version": 1,
        "purposes": frozenset({"admissions", "research"}),
        "feeds": frozenset({Feed.ACHIEVEMENTS, Feed.LEARNER_DETAILS}),
        "fields": frozenset({"uln", "subject", "grade"}),
        "scope": Scope.NOMINATED,
        "valid_from": date(2026, 1, 1),
        "valid_to": date(2027, 12, 31),
    }
    return Agreement(**(fields | overrides))  # type: ignore[arg-type]


def _held(partner: str, uln: str, key: str, **overrides: object) -> DeliveryRecord:
    fields: dict[str, object] = {
        "partner": partner,
        "uln": uln,
        "feed": Feed.ACHIEVEMENTS,
        "key": key,
        "version": 1,
        "fields": ("uln", "subject", "grade"),
        "agreement_id": "DSA-1",
        "agreement_version": 1,
        "consent_version": 1,
        "purpose": "admissions",
        "at": AT,
    }
    return DeliveryRecord(**(fields | overrides))  # type: ignore[arg-type]


async def test_agreements_are_the_latest_version_of_each(new_uow: NewUow) -> None:
    """Every agreement at its highest version, revoked ones included; one saved is seen in its transaction."""
    partner, other = await _partner(new_uow), await _partner(new_uow)
    first = _agreement(partner)
    narrowed = replace(first, version=2, fields=frozenset({"uln"}))
    revoked = replace(_agreement(other), status=AgreementStatus.REVOKED, valid_to=date(2026, 6, 30))
    async with new_uow() as uow:
        await uow.sharing.save_agreement(first)
        await uow.sharing.save_agreement(revoked)
        await uow.commit()
    async with new_uow() as uow:
        before = [a for a in await uow.sharing.agreements() if a.partner in (partner, other)]
        await uow.sharing.save_agreement(narrowed)
        inside = [a for a in await uow.sharing.agreements() if a.partner in (partner, other)]
        await uow.commit()
    assert (sorted(before, key=_id), sorted(inside, key=_id)) == (
        sorted([first, revoked], key=_id),
        sorted([narrowed, revoked], key=_id),
    )


def _id(a: Agreement) -> str:
    return a.agreement_id  # agreements() promises no order


async def test_an_agreement_version_is_saved_once(new_uow: NewUow) -> None:
    """A version of an agreement is never replaced (decisions name it): saving it again is refused."""
    partner = await _partner(new_uow)
    first = _agreement(partner)
    async with new_uow() as uow:
        await uow.sharing.save_agreement(first)
        await uow.commit()
    async with new_uow() as uow:
        with pytest.raises(KEY_VIOLATION):
            await uow.sharing.save_agreement(replace(first, purposes=frozenset({"marketing"})))
    async with new_uow() as uow:
        assert [a for a in await uow.sharing.agreements() if a.partner == partner] == [first]


async def test_an_agreement_saved_without_commit_is_not_kept(new_uow: NewUow) -> None:
    partner = await _partner(new_uow)
    async with new_uow() as uow:
        await uow.sharing.save_agreement(_agreement(partner))
    async with new_uow() as uow:
        assert [a for a in await uow.sharing.agreements() if a.partner == partner] == []


async def test_a_learners_choices_read_back_as_saved(new_uow: NewUow) -> None:
    """Consents read back whole (restricted view, nominations, basic only); a learner who never chose is absent."""
    chose, never = await _learners(new_uow, 2)
    partner = await _partner(new_uow)
    choices = Consent(
        chose,
        version=1,
        sharing=True,
        restricted=frozenset({str(uuid.uuid4())}),
        basic_only=True,
        nominations={partner: date(2027, 3, 31)},
        chose_sharing=True,
    )
    async with new_uow() as uow:
        await uow.sharing.save_consent(choices)
        inside = await uow.sharing.consents([chose, never])
        await uow.commit()
    async with new_uow() as uow:
        after = await uow.sharing.consents([chose, never])
    assert (inside, after) == ({chose: choices}, {chose: choices})


async def test_a_consent_version_replaces_only_the_one_before_it(new_uow: NewUow) -> None:
    """Version n+1 replaces version n; a stale version (two changes at once) is refused as transient."""
    [uln] = await _learners(new_uow, 1)
    first = Consent(uln, version=1, sharing=True)
    async with new_uow() as uow:
        await uow.sharing.save_consent(first)
        await uow.commit()
    async with new_uow() as uow:
        await uow.sharing.save_consent(replace(first, version=2, sharing=False))
        await uow.commit()
    async with new_uow() as uow:
        with pytest.raises(TransientError):
            await uow.sharing.save_consent(replace(first, version=2, basic_only=True))  # read 1, 2 won meanwhile
    async with new_uow() as uow:
        stored = (await uow.sharing.consents([uln]))[uln]

    assert (stored.version, stored.sharing, stored.basic_only) == (2, False, False)


async def test_subscriptions_are_listed_by_partner_and_a_second_changes_the_purpose(new_uow: NewUow) -> None:
    """One subscription per partner and feed (again: the new purpose); listed by partner, of a feed if asked;
    unsubscribing says whether there was one."""
    first, second = sorted([await _partner(new_uow), await _partner(new_uow)])
    async with new_uow() as uow:
        await uow.sharing.subscribe(Subscription(second, Feed.ACHIEVEMENTS, "admissions"))
        await uow.sharing.subscribe(Subscription(first, Feed.ACHIEVEMENTS, "admissions"))
        await uow.sharing.subscribe(Subscription(first, Feed.LEARNER_DETAILS, "admissions"))
        await uow.sharing.subscribe(Subscription(first, Feed.ACHIEVEMENTS, "research"))
        await uow.commit()
    mine = {first, second}
    async with new_uow() as uow:
        achievements = [s for s in await uow.sharing.subscriptions(Feed.ACHIEVEMENTS) if s.partner in mine]
        every = [s for s in await uow.sharing.subscriptions() if s.partner in mine]
        ended = (
            await uow.sharing.unsubscribe(first, Feed.LEARNER_DETAILS),
            await uow.sharing.unsubscribe(second, Feed.PARTICIPATION),
        )
        await uow.commit()
    async with new_uow() as uow:
        after = [s for s in await uow.sharing.subscriptions() if s.partner in mine]
    assert achievements == [
        Subscription(first, Feed.ACHIEVEMENTS, "research"),
        Subscription(second, Feed.ACHIEVEMENTS, "admissions"),
    ]
    assert sorted(every, key=str) == sorted(
        [*achievements, Subscription(first, Feed.LEARNER_DETAILS, "admissions")], key=str
    )
    assert (ended, after) == ((True, False), achievements)


async def test_a_subscription_without_commit_is_not_kept(new_uow: NewUow) -> None:
    partner = await _partner(new_uow)
    async with new_uow() as uow:
        await uow.sharing.subscribe(Subscription(partner, Feed.ACHIEVEMENTS, "admissions"))
    async with new_uow() as uow:
        assert [s for s in await uow.sharing.subscriptions() if s.partner == partner] == []


async def test_what_partners_hold_is_narrowed_by_partner_learner_and_key(new_uow: NewUow) -> None:
    """held() lists deliveries by (partner, uln, key), this transaction's too, narrowed by each filter given."""
    first, second = sorted([await _partner(new_uow), await _partner(new_uow)])
    u1, u2 = await _learners(new_uow, 2)
    a, b, c = _held(first, u1, "k-a"), _held(first, u2, "k-b"), _held(second, u1, "k-a")
    details = _held(first, u1, "details", feed=Feed.LEARNER_DETAILS, version=None, fields=("given_name",))
    async with new_uow() as uow:
        await uow.sharing.delivered([c, b])
        await uow.sharing.delivered([a, details])
        inside = await uow.sharing.held(ulns=[u1, u2])
        await uow.commit()
    async with new_uow() as uow:
        found = [
            await uow.sharing.held(ulns=[u1, u2]),
            await uow.sharing.held(partner=first),
            await uow.sharing.held(ulns=[u2]),
            await uow.sharing.held(keys=["k-a"], ulns=[u1]),
            await uow.sharing.held(partner=second, ulns=[u1], keys=["k-a", "k-b"]),
            await uow.sharing.held(ulns=[]),
            await uow.sharing.held(partner=first, keys=[]),
        ]
    assert inside == [details, a, b, c]
    assert found == [[details, a, b, c], [details, a, b], [b], [a, c], [c], [], []]


async def test_a_delivery_under_a_key_already_held_replaces_it(new_uow: NewUow) -> None:
    """Delivered again (an amendment), the partner holds the latest copy only, once."""
    partner = await _partner(new_uow)
    [uln] = await _learners(new_uow, 1)
    async with new_uow() as uow:
        await uow.sharing.delivered([_held(partner, uln, "k")])
        await uow.commit()
    latest = _held(partner, uln, "k", version=2, fields=("uln",), agreement_version=2, at=AT + timedelta(days=1))
    async with new_uow() as uow:
        await uow.sharing.delivered([latest])
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.sharing.held(partner=partner) == [latest]


async def test_deliveries_without_commit_are_not_held(new_uow: NewUow) -> None:
    partner = await _partner(new_uow)
    [uln] = await _learners(new_uow, 1)
    async with new_uow() as uow:
        await uow.sharing.delivered([_held(partner, uln, "k")])
    async with new_uow() as uow:
        assert await uow.sharing.held(partner=partner) == []


async def test_recalled_keys_are_no_longer_held_by_that_partner(new_uow: NewUow) -> None:
    """A recall removes those keys of that partner and learner only, deliveries of this transaction too."""
    first, second = sorted([await _partner(new_uow), await _partner(new_uow)])
    u1, u2 = await _learners(new_uow, 2)
    kept = [_held(first, u1, "k-2"), _held(first, u2, "k-1"), _held(second, u1, "k-1")]
    async with new_uow() as uow:
        await uow.sharing.delivered([_held(first, u1, "k-1"), *kept])
        await uow.commit()
    async with new_uow() as uow:
        await uow.sharing.delivered([_held(first, u1, "k-3")])
        await uow.sharing.recalled(first, u1, ["k-1", "k-3", "k-unknown"])
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.sharing.held(ulns=[u1, u2]) == kept


async def test_rekeying_files_a_partners_records_under_the_master_whose_copy_wins(new_uow: NewUow) -> None:
    """After a merge the partner holds the linked ULN's records under the master's; where it held a key
    under both, the master's copy stays. Other partners are untouched."""
    partner, other = sorted([await _partner(new_uow), await _partner(new_uow)])
    master, linked = await _learners(new_uow, 2)
    masters_copy = _held(partner, master, "k-both", version=3)
    async with new_uow() as uow:
        await uow.sharing.delivered(
            [
                masters_copy,
                _held(partner, linked, "k-both", version=1),
                _held(partner, linked, "k-only"),
                _held(other, linked, "k-only"),
            ]
        )
        await uow.sharing.rekeyed(partner, linked, master)
        await uow.commit()
    async with new_uow() as uow:
        found = await uow.sharing.held(ulns=[master, linked])
    assert found == [masters_copy, _held(partner, master, "k-only"), _held(other, linked, "k-only")]


async def test_acknowledging_returns_each_of_the_partners_own_notices_once(new_uow: NewUow) -> None:
    """Only ids of the partner's own notices come back, each once, however often given; again too."""
    partner, other = await _partner(new_uow), await _partner(new_uow)
    [uln] = await _learners(new_uow, 1)
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    async with new_uow() as uow:
        await uow.sharing.add_notice(NoticeRecord(mine, partner, "recall", uln, ("k-1",), "consent withdrawn", AT))
        await uow.sharing.add_notice(NoticeRecord(theirs, other, "rekey", uln, (), "merged", AT))
        await uow.commit()
    unknown = str(uuid.uuid4())
    async with new_uow() as uow:
        acked = await uow.sharing.acknowledge(partner, [mine, theirs, unknown, mine, mine.upper(), "x"], AT)
        await uow.commit()
    async with new_uow() as uow:
        again = await uow.sharing.acknowledge(partner, [mine], AT + timedelta(hours=1))
    assert (acked, again) == ([mine], [mine])


async def test_acknowledging_unknown_or_foreign_notices_acknowledges_nothing(new_uow: NewUow) -> None:
    partner = await _partner(new_uow)
    async with new_uow() as uow:
        acked = await uow.sharing.acknowledge(partner, ["not-a-notice", "0" * 8, str(uuid.uuid4())], AT)
    assert acked == []


async def test_a_notice_added_without_commit_is_not_kept(new_uow: NewUow) -> None:
    partner = await _partner(new_uow)
    notice = NoticeRecord(str(uuid.uuid4()), partner, "recall", None, ("k",), "agreement ended", AT)
    async with new_uow() as uow:
        await uow.sharing.add_notice(notice)
        inside = await uow.sharing.acknowledge(partner, [notice.notice_id], AT)
    async with new_uow() as uow:
        after = await uow.sharing.acknowledge(partner, [notice.notice_id], AT)
    assert (inside, after) == ([notice.notice_id], [])


async def test_expired_nominations_are_those_ended_whose_partner_still_holds_data(new_uow: NewUow) -> None:
    """(uln, partner) of nominations that ended before today, only where that partner holds something of
    the learner (this transaction's deliveries included)."""
    ended, ended_holds_nothing, running = [await _partner(new_uow) for _ in range(3)]
    late = await _partner(new_uow)
    [uln] = await _learners(new_uow, 1)
    nominations = {
        ended: TODAY - timedelta(days=1),
        ended_holds_nothing: TODAY - timedelta(days=1),
        running: TODAY,
        late: TODAY - timedelta(days=10),
    }
    async with new_uow() as uow:
        await uow.sharing.save_consent(Consent(uln, version=1, sharing=True, nominations=nominations))
        await uow.sharing.delivered([_held(ended, uln, "k"), _held(running, uln, "k")])
        await uow.commit()
    async with new_uow() as uow:
        await uow.sharing.delivered([_held(late, uln, "k")])
        found = [x for x in await uow.sharing.expired_nominations(TODAY) if x[0] == uln]
    assert found == sorted([(uln, ended), (uln, late)])

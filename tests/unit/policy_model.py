"""A reference model of what partners may receive and must give back, for test_policy_model.py.

Written from the rules in hub/sharing/policy.py's docstring and the promises of hub/sharing/agreements.py,
hub/sharing/consent.py and hub/sharing/feeds.py, not from their code: plain sets and dicts, one check per rule.
Every partner here is an active organisation of kind partner (rule 1 always holds), and the
model keeps only each partner's live agreement (a revoked one is gone).

What a partner holds is what it was sent and not told to delete. It must give back (a recall)
whatever it may no longer hold, judged at these moments: after a change of a learner's choices
or of an agreement, when a nomination has ended (the hub's expiry run), when a new version of
an entry may not go to it, and when an entry is withdrawn. A suspension pauses feeds but takes
nothing back, so "may hold" judges a suspended agreement as if it were active.
"""

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

BASIC_DETAILS = frozenset({"uln", "given_name", "family_name", "date_of_birth"})
DETAILS = "details"  # what a partner holds of a learner's details is filed under this key
DETAILS_FEED = "learner_details"

Key = tuple[str, str, str]  # (partner, uln, event id or DETAILS)


@dataclass(frozen=True)
class Dsa:
    """A partner's agreement as it stands now."""

    agreement_id: str
    version: int
    purposes: frozenset[str]
    feeds: frozenset[str]
    fields: frozenset[str]
    nominated_only: bool
    valid_from: date
    valid_to: date
    suspended: bool = False


@dataclass(frozen=True)
class Choices:
    """A learner's choices; version 0 is the registration's default."""

    sharing: bool
    shown: frozenset[str] | None = None  # the restricted view's event ids; None shows every event
    basic_only: bool = False
    nominations: tuple[tuple[str, date], ...] = ()  # (partner, last day it holds), sorted
    version: int = 0
    chose_sharing: bool = False  # her first choice of sharing is recorded, even one equal to the default


@dataclass(frozen=True)
class Entry:
    """A learning event, or a learner's details, with every field it carries."""

    feed: str
    uln: str
    key: str
    version: int | None
    fields: dict[str, Any]


@dataclass(frozen=True)
class Item:
    """One item a partner receives: the projection and the decision it names."""

    partner: str
    feed: str
    key: str
    version: int | None
    replaces: int | None
    fields: tuple[tuple[str, Any], ...]
    purpose: str
    agreement: tuple[str, int]
    consent_version: int


@dataclass(frozen=True)
class Held:
    """What a partner holds of an entry: the version and fields it was sent, for the purpose it named."""

    feed: str
    version: int | None
    fields: frozenset[str]
    purpose: str


@dataclass
class Expected:
    """What partners must be sent after one call into the hub."""

    items: list[Item] = field(default_factory=list)
    recalls: list[Key] = field(default_factory=list)
    rekeys: list[tuple[str, str, str]] = field(default_factory=list)  # (partner, old uln, new uln)


class Model:
    """The partners' agreements and subscriptions, the learners' choices, and what partners hold."""

    def __init__(self, today: date, sharing_by_default: dict[str, bool]) -> None:
        self.today = today
        self.dsa: dict[str, Dsa] = {}
        self.subscribed: dict[tuple[str, str], str] = {}  # (partner, feed) -> purpose
        self.master: dict[str, str] = {uln: uln for uln in sharing_by_default}
        self.choices = {uln: Choices(sharing) for uln, sharing in sharing_by_default.items()}
        self.held: dict[Key, Held] = {}

    def choices_of(self, uln: str) -> Choices:
        """A linked learner's choices are its master's."""
        return self.choices[self.master[uln]]

    # --- The rules ---------------------------------------------------------------------------

    def grant(
        self, partner: str, purpose: str, entry: Entry, day: date, *, paused_too: bool = False
    ) -> dict[str, Any] | None:
        """The fields `partner` may receive of `entry` on `day`, or None: rules 2 to 6 in order."""
        dsa = self.dsa.get(partner)
        if dsa is None or (dsa.suspended and not paused_too):
            return None
        if not dsa.valid_from <= day <= dsa.valid_to or purpose not in dsa.purposes or entry.feed not in dsa.feeds:
            return None
        choices = self.choices_of(entry.uln)
        if not choices.sharing:
            return None
        if dsa.nominated_only and not any(p == partner and day <= until for p, until in choices.nominations):
            return None
        allowed = dsa.fields
        if entry.feed == DETAILS_FEED:
            allowed = allowed & BASIC_DETAILS if choices.basic_only else allowed
        elif choices.basic_only or (choices.shown is not None and entry.key not in choices.shown):
            return None
        return {name: value for name, value in entry.fields.items() if name in allowed} or None

    def may_keep(self, key: Key, held: Held, day: date) -> bool:
        """Whether a partner may still hold what it holds (a suspension takes nothing back)."""
        partner, uln, event = key
        entry = Entry(held.feed, uln, event, held.version, dict.fromkeys(held.fields))
        granted = self.grant(partner, held.purpose, entry, day, paused_too=True)
        return granted is not None and set(granted) == held.fields

    def recheck(self, day: date, partner: str | None = None, uln: str | None = None) -> Expected:
        """Recall whatever partners may no longer hold (of one partner, of one learner, if given)."""
        gone = [
            key
            for key, held in sorted(self.held.items())
            if partner in (None, key[0]) and uln in (None, key[1]) and not self.may_keep(key, held, day)
        ]
        for key in gone:
            del self.held[key]
        return Expected(recalls=gone)

    # --- Agreements (an operator) --------------------------------------------------------------

    def approve(self, partner: str, agreement_id: str, **terms: Any) -> None:
        self.dsa[partner] = Dsa(agreement_id, 1, **terms)

    def amend(self, partner: str, **terms: Any) -> Expected:
        """A new version of the partner's agreement (other terms, or suspended, or resumed)."""
        dsa = self.dsa[partner]
        self.dsa[partner] = replace(dsa, version=dsa.version + 1, **terms)
        if terms == {"suspended": True}:
            return Expected()  # a suspension pauses; it does not take back
        return self.recheck(self.today, partner=partner)

    def revoke(self, partner: str) -> Expected:
        del self.dsa[partner]
        return self.recheck(self.today, partner=partner)

    def subscribe(self, partner: str, feed: str, purpose: str) -> bool:
        """A partner subscribes to a feed for a purpose its agreement covers today."""
        dsa = self.dsa.get(partner)
        ok = (
            dsa is not None
            and not dsa.suspended
            and dsa.valid_from <= self.today <= dsa.valid_to
            and purpose in dsa.purposes
            and feed in dsa.feeds
        )
        if ok:
            self.subscribed[(partner, feed)] = purpose
        return ok

    # --- Learners' choices (through the portal, judged today) ----------------------------------

    def choose(self, uln: str, **changes: Any) -> tuple[str, Expected]:
        """Apply a change of choices: "applied" (a new version, then a recheck) or "unchanged"."""
        master = self.master[uln]
        old = self.choices[master]
        new = replace(old, **changes)
        if new == old:
            return "unchanged", Expected()
        self.choices[master] = replace(new, version=old.version + 1)
        return "applied", self.recheck(self.today, uln=master)

    def nominate(self, uln: str, partner: str, until: date) -> tuple[str, Expected]:
        if until < self.today:
            return "refused", Expected()
        others = [(p, d) for p, d in self.choices_of(uln).nominations if p != partner]
        return self.choose(uln, nominations=tuple(sorted([*others, (partner, until)])))

    def withdraw_nomination(self, uln: str, partner: str) -> tuple[str, Expected]:
        kept = tuple((p, d) for p, d in self.choices_of(uln).nominations if p != partner)
        return self.choose(uln, nominations=kept)

    # --- Events -------------------------------------------------------------------------------

    def offer(self, entries: list[Entry], day: date) -> Expected:
        """Each subscribed partner gets what the rules grant; an entry it may no longer receive, it gives back."""
        out = Expected()
        for (partner, feed), purpose in sorted(self.subscribed.items()):
            for entry in entries:
                if entry.feed != feed:
                    continue
                key = (partner, entry.uln, entry.key)
                if entry.feed != DETAILS_FEED:  # amended onto another learner: the old copy is wrong now
                    moved = [k for k in self.held if k[0] == partner and k[2] == entry.key and k[1] != entry.uln]
                    for k in moved:
                        out.recalls.append(k)
                        del self.held[k]
                prior = self.held.get(key)
                granted = self.grant(partner, purpose, entry, day)
                if granted is not None:
                    replaces = prior.version if prior is not None and prior.version != entry.version else None
                    dsa = self.dsa[partner]
                    version = self.choices_of(entry.uln).version
                    out.items.append(Item(partner, feed, entry.key, entry.version, replaces,
                                          tuple(sorted(granted.items())), purpose,
                                          (dsa.agreement_id, dsa.version), version))  # fmt: skip
                    self.held[key] = Held(feed, entry.version, frozenset(granted), purpose)
                elif prior is not None and self.grant(partner, purpose, entry, day, paused_too=True) is None:
                    out.recalls.append(key)
                    del self.held[key]
        return out

    def withdraw(self, event_id: str) -> Expected:
        """An entry withdrawn by its sender: every partner holding it gives it back."""
        gone = [key for key in sorted(self.held) if key[2] == event_id]
        for key in gone:
            del self.held[key]
        return Expected(recalls=gone)

    def merge(self, master: str, linked: str, day: date) -> Expected:
        """`linked` becomes `master`'s: what partners hold under it is re-filed under `master` (a
        partner that was given the ULN is told so), then judged by `master`'s choices."""
        for uln, its_master in self.master.items():
            if its_master == linked:
                self.master[uln] = master
        out = Expected()
        holders = sorted({p for p, u, _ in self.held if u == linked})
        for partner in holders:
            keys = sorted(k for k in self.held if k[:2] == (partner, linked))
            if any("uln" in self.held[k].fields for k in keys):
                out.rekeys.append((partner, linked, master))
            for key in keys:
                held = self.held.pop(key)
                self.held.setdefault((partner, master, key[2]), held)
        if holders:
            out.recalls += self.recheck(day, uln=master).recalls
        return out

    def expire(self, day: date) -> Expected:
        """The expiry run on `day`: recheck, on that day, what is held under nominations that ended
        and agreements past their last day."""
        out = Expected()
        ended = {
            (partner, uln)
            for partner, uln, _ in self.held
            if any(p == partner and until < day for p, until in self.choices_of(uln).nominations)
        }
        for partner, uln in sorted(ended):
            out.recalls += self.recheck(day, partner=partner, uln=uln).recalls
        for partner, dsa in sorted(self.dsa.items()):  # agreements past their last day
            if dsa.valid_to < day:
                out.recalls += self.recheck(day, partner=partner).recalls
        return out

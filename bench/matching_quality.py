"""Benchmark: how well find-by-demographics finds the right learner, and how rarely the wrong one.

Builds a synthetic UK register (bench/synthetic.py), indexes it in memory under the register's
blocking keys (`hub.register.blocking.learner_block_keys`), and asks queries that are known corruptions of
a registered learner's demographics: the errors providers really make (issue 3). Each query's
candidates are the learners sharing a key with `hub.register.blocking.query_block_keys(query)`; the answer
is `hub.register.matching.match_learner(query, candidates)`, the same two calls the hub makes.

Per corruption kind it counts: exact to the right learner, exact to a WRONG learner (the cardinal
sin: someone else's ULN), possible matches containing the right learner or not, too many, none,
missed (right learner not returned at all) and, of those, not even retrieved by blocking.
Learners who are not in the register (strangers, an unregistered twin) may only ever be answered
possible/too many/none: an exact answer for them is a wrong exact.

Run: cd /work/main && uv run python bench/matching_quality.py [--learners N] [--queries Q] [--seed S]
     [--unseen Q]  (also Q queries of issue 13's kinds: one mandatory field wholly wrong, swapped and
     misspelt names, spaces inside names (alone and with a slip in the other name), both names
     mistyped, a typo or another given name with the postcode a sector off, optional fields
     dropped with gender "not specified", strangers; their own figures, prefixed unseen_)
     [--hard]  (also compound errors, e.g. married and moved, reported outside the headline figures)
     [--density-of 10000000]  (birth dates as crowded as in the real register: far more strangers
     share each learner's birthday and name, so this is the harder, more telling run)
Stdout: a table per kind, then one JSON line (last). --examples K prints up to K misses and wrong
exacts of each kind to stderr, to see why.
"""

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from bench.synthetic import ACCENTED, PersonGenerator, SyntheticRegister, nickname_forms, plain, synthetic_register
from contracts.learner import Demographics, LearnerDetails
from hub.kernel.model import Learner
from hub.register.blocking import learner_block_keys, query_block_keys
from hub.register.frequencies import NameFrequencies
from hub.register.matching import MatchOutcome, MatchResult, match_learner
from hub.register.normalise import name_key


def _keyboard_neighbours() -> dict[str, str]:
    """Each letter's neighbours on a QWERTY keyboard: a typo usually hits one of them.

    The rows are staggered: a key touches, in the row above, the keys at its own index and the
    next; in the row below, the keys at the previous index and its own.
    """
    rows = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    near: dict[str, str] = {}
    for r, row in enumerate(rows):
        for i, c in enumerate(row):
            touching = [(r, i - 1), (r, i + 1), (r - 1, i), (r - 1, i + 1), (r + 1, i - 1), (r + 1, i)]
            near[c] = "".join(rows[y][x] for y, x in touching if 0 <= y < len(rows) and 0 <= x < len(rows[y]))
    return near


_NEIGHBOURS = _keyboard_neighbours()
_PARTS = re.compile(r"[\s\-]+")


# ---------------------------------------------------------------- queries
@dataclass(frozen=True)
class Query:
    """A corrupted find: what was asked, and who it really describes (None: not registered)."""

    kind: str
    demographics: Demographics
    right: Learner | None
    source: LearnerDetails  # the person the query was made from, for explaining a miss


def demographics(d: Demographics, **changes: Any) -> Demographics:
    """The five mandatory fields of `d` as a provider would send them, with some changed.

    A register entry's previous family name is the register's, not the provider's, so it is
    dropped; a query's own (from an earlier change) is kept.
    """
    fields = {
        "given_name": d.given_name,
        "family_name": d.family_name,
        "date_of_birth": d.date_of_birth,
        "gender": d.gender,
        "last_known_postcode": d.last_known_postcode,
    }
    if not isinstance(d, LearnerDetails) and d.previous_family_name:
        fields["previous_family_name"] = d.previous_family_name
    return Demographics.model_validate(fields | changes)


def _recase(new: str, old: str) -> str:
    """Keep the capital letter where the original name had it."""
    return new[0].upper() + new[1:].lower() if old[:1].isupper() else new


def typo(gen: PersonGenerator, name: str) -> str | None:
    """One slip of the keyboard: a neighbouring key, a dropped letter, or a doubled/extra one."""
    rng = gen.rng
    positions = [i for i, c in enumerate(name) if c.isascii() and c.isalpha()]
    if not positions:
        return None
    for _ in range(10):
        i = rng.choice(positions)
        c = name[i].lower()
        op = rng.choice(("substitute", "substitute", "delete", "insert"))
        if op == "substitute":
            new = name[:i] + rng.choice(_NEIGHBOURS[c]) + name[i + 1 :]
        elif op == "delete" and len(name_key(name)) > 2:
            new = name[:i] + name[i + 1 :]
        elif op == "insert" and len(name) < 35:
            new = name[:i] + rng.choice((c, rng.choice(_NEIGHBOURS[c]))) + name[i:]
        else:
            continue
        new = _recase(new, name)
        if name_key(new) != name_key(name):
            return new
    return None


def transposition(gen: PersonGenerator, name: str) -> str | None:
    """Two adjacent, different letters swapped: "Oliver" -> "Olvier"."""
    lower = name.lower()
    positions = [
        i for i in range(len(name) - 1) if lower[i].isalpha() and lower[i + 1].isalpha() and lower[i] != lower[i + 1]
    ]
    if not positions:
        return None
    i = gen.rng.choice(positions)
    return _recase(lower[:i] + lower[i + 1] + lower[i] + lower[i + 2 :], name)


def _one_of_the_names(
    gen: PersonGenerator, d: Demographics, change: Callable[[PersonGenerator, str], str | None]
) -> Demographics | None:
    """Apply `change` to the given or the family name (whichever it applies to; either at random)."""
    fields = ["given_name", "family_name"]
    gen.rng.shuffle(fields)
    for f in fields:
        new = change(gen, getattr(d, f))
        if new is not None and name_key(new):
            return demographics(d, **{f: new})
    return None


def _nickname(gen: PersonGenerator, name: str) -> str | None:
    # Only the first of several given names is usually shortened: "Thomas James" -> "Tom".
    first = _PARTS.split(name)[0]
    forms = sorted(nickname_forms(first))
    return gen.rng.choice(forms) if forms else None


def _first_of_several(gen: PersonGenerator, name: str) -> str | None:
    parts = [p for p in _PARTS.split(name) if p]
    return parts[0] if len(parts) > 1 else None


def _one_part(gen: PersonGenerator, name: str) -> str | None:
    parts = [p for p in _PARTS.split(name) if p]
    return gen.rng.choice(parts) if len(parts) > 1 else None


def _accent_variant(gen: PersonGenerator, name: str) -> str | None:
    """Drop accents/apostrophes the register has ("O'Brien" -> "OBrien" or "O Brien"), or add them."""
    if plain(name) != name:
        dropped = plain(name)
        return dropped if "'" not in name or gen.rng.random() < 0.5 else name.replace("'", " ")
    return ACCENTED.get(name)


def _postcode_format(gen: PersonGenerator, postcode: str) -> str:
    compact = postcode.replace(" ", "")
    return gen.rng.choice((compact.lower(), postcode.lower(), compact, f"{compact[:-3].lower()} {compact[-3:]}"))


# A change turns demographics into corrupted ones, or says it does not apply to them (None).
Change = Callable[[PersonGenerator, Demographics], Demographics | None]
# A corruption turns a registered learner into a query, or says it does not apply (None).
Corruption = Callable[[PersonGenerator, Learner, SyntheticRegister], Query | None]


def _registered(kind: str, *changes: Change) -> Corruption:
    """The registered learner's own details with `changes` applied in turn: the right answer is them."""

    def corrupt(gen: PersonGenerator, learner: Learner, register: SyntheticRegister) -> Query | None:
        q: Demographics = learner.details
        for change in changes:
            changed = change(gen, q)
            if changed is None:
                return None
            q = changed
        return Query(kind, demographics(q), learner, learner.details)

    return corrupt


def _clean(gen: PersonGenerator, d: Demographics) -> Demographics:
    return demographics(d)


def _typo(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    return _one_of_the_names(gen, d, typo)


def _transposition(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    return _one_of_the_names(gen, d, transposition)


def _accents(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    return _one_of_the_names(gen, d, _accent_variant)


def _nickname_given(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    return demographics(d, given_name=n) if (n := _nickname(gen, d.given_name)) else None


def _partial(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    options = []
    if (given := _first_of_several(gen, d.given_name)) is not None:
        options.append({"given_name": given})
    if (family := _one_part(gen, d.family_name)) is not None:
        options.append({"family_name": family})
    return demographics(d, **gen.rng.choice(options)) if options else None


def _swapped_names(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    if name_key(d.given_name) == name_key(d.family_name):
        return None
    return demographics(d, given_name=d.family_name, family_name=d.given_name)


def _new_family(with_previous: bool) -> Change:
    def change(gen: PersonGenerator, d: Demographics) -> Demographics:
        new = gen.other_family_name(d.family_name, *(n for n in [d.previous_family_name] if n))
        previous = {"previous_family_name": d.family_name} if with_previous else {}
        return demographics(d, family_name=new, **previous)

    return change


def _former_family(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    """A learner the register knows by a new family name, asked for by the old one."""
    return demographics(d, family_name=d.previous_family_name) if d.previous_family_name else None


def _dob_swapped(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    born = d.date_of_birth
    if born.day > 12 or born.day == born.month:
        return None
    return demographics(d, date_of_birth=born.replace(day=born.month, month=born.day))


def _dob_typo(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    """One slip in the date of birth other than a day-month swap: a day, month or year off by one."""
    born = d.date_of_birth
    slips = [(0, 0, 1), (0, 0, -1), (0, 1, 0), (0, -1, 0), (1, 0, 0), (-1, 0, 0)]
    gen.rng.shuffle(slips)
    for years, months, days in slips:
        try:
            slipped = born.replace(year=born.year + years, month=born.month + months, day=born.day + days)
        except ValueError:
            continue  # 32 January, month 13, 29 February of a common year
        return demographics(d, date_of_birth=slipped)
    return None


def _gender_flipped(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    """Male keyed as female or the other way round (a drop-down slip)."""
    return demographics(d, gender=3 - d.gender) if d.gender in (1, 2) else None


def _moved_same_district(gen: PersonGenerator, d: Demographics) -> Demographics:
    return demographics(d, last_known_postcode=gen.postcode_in_district(d.last_known_postcode))


def _moved_elsewhere(gen: PersonGenerator, d: Demographics) -> Demographics:
    return demographics(d, last_known_postcode=gen.postcode_elsewhere(d.last_known_postcode))


def _postcode_formatted(gen: PersonGenerator, d: Demographics) -> Demographics:
    # The contract's Postcode type already puts "ls144ap" into "LS14 4AP" form: this kind keeps
    # checking that it does, end to end, whatever the matcher does with postcodes.
    return demographics(d, last_known_postcode=_postcode_format(gen, d.last_known_postcode))


def _relative(kind: str, relation: str, *changes: Change) -> Corruption:
    """A learner with a registered twin, sibling or namesake, asked for by their own details (changed)."""
    own = _registered(kind, _clean, *changes)

    def corrupt(gen: PersonGenerator, learner: Learner, register: SyntheticRegister) -> Query | None:
        return own(gen, learner, register) if learner.uln in getattr(register, relation) else None

    return corrupt


def _unregistered_twin(gen: PersonGenerator, learner: Learner, register: SyntheticRegister) -> Query | None:
    """The twin of a registered learner, not registered themselves: must not get the sibling's ULN."""
    if learner.uln in register.twins:
        return None
    siblings = [register.by_uln[u].details.given_name for u in register.siblings.get(learner.uln, [])]
    twin = gen.twin_of(learner.details, *siblings)
    return Query("unregistered_twin", demographics(twin), None, twin)


def _not_registered(gen: PersonGenerator, learner: Learner, register: SyntheticRegister) -> Query | None:
    """A stranger drawn from the same population (so with the same common names), not registered."""
    stranger = gen.person()
    return Query("not_registered", demographics(stranger), None, stranger)


# ---- issue 13: corruptions of the kinds a public linkage benchmark held out, drawn here from
# the bench's own keyboard, calendar and postcode rules, never from the hub's name tables.
def _dob_replaced(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    """The date of birth largely replaced: the year and the month or the day (or both) changed."""
    born = d.date_of_birth
    for _ in range(20):
        year = born.year + gen.rng.choice((-1, 1)) * gen.rng.randint(1, 9)
        month, day = born.month, born.day
        which = gen.rng.choice(("month", "day", "both"))
        if which in ("month", "both"):
            month = gen.rng.choice([m for m in range(1, 13) if m != born.month])
        if which in ("day", "both"):
            day = gen.rng.choice([x for x in range(1, 29) if x != born.day])
        try:
            replaced = born.replace(year=year, month=month, day=day)
        except ValueError:
            continue  # 31 April
        return demographics(d, date_of_birth=replaced)
    return None


def _given_replaced(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    """The given name wholly wrong (another person's on the form), the other four fields right."""
    return demographics(d, given_name=gen.other_given_name(d.gender if d.gender in (1, 2) else 1, d.given_name))


def _space_inside(gen: PersonGenerator, name: str) -> str | None:
    """A space or hyphen keyed inside a name part: "Everett" -> "Ever ett", "Landau" -> "La-ndau"."""
    inside = [i for i in range(2, len(name) - 1) if name[i - 2 : i].isalpha() and name[i : i + 2].isalpha()]
    if not inside or len(name) >= 35:
        return None
    i = gen.rng.choice(inside)
    return name[:i] + gen.rng.choice((" ", " ", "-")) + name[i:]


def _spaced(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    return _one_of_the_names(gen, d, _space_inside)


def _slip(gen: PersonGenerator, name: str) -> str | None:
    """A keyboard slip or two letters swapped, one as often as the other."""
    return typo(gen, name) if gen.rng.random() < 0.5 else transposition(gen, name) or typo(gen, name)


def _both_mistyped(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    given, family = _slip(gen, d.given_name), _slip(gen, d.family_name)
    if given is None or family is None or not name_key(given) or not name_key(family):
        return None
    return demographics(d, given_name=given, family_name=family)


def _swapped_and_mistyped(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    swapped = _swapped_names(gen, d)
    return _one_of_the_names(gen, swapped, _slip) if swapped else None


def _sector_off(gen: PersonGenerator, d: Demographics) -> Demographics:
    """The postcode one sector off: the inward code's digit one up or down ("LS14 4AP" -> "LS14 5AP")."""
    outward, inward = d.last_known_postcode.split()
    digit = (int(inward[0]) + gen.rng.choice((-1, 1))) % 10
    return demographics(d, last_known_postcode=f"{outward} {digit}{inward[1:]}")


def _typo_and_sector_off(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    typed = _one_of_the_names(gen, d, _slip)
    return _sector_off(gen, typed) if typed else None


def _given_replaced_and_sector_off(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    replaced = _given_replaced(gen, d)
    return _sector_off(gen, replaced) if replaced else None


def _spaced_and_mistyped(gen: PersonGenerator, d: Demographics) -> Demographics | None:
    """A space or hyphen inside one name and a slip in the other ("Ever ett" with "Landua")."""
    given, family = (_space_inside, _slip) if gen.rng.random() < 0.5 else (_slip, _space_inside)
    new_given, new_family = given(gen, d.given_name), family(gen, d.family_name)
    if new_given is None or new_family is None or not name_key(new_given) or not name_key(new_family):
        return None
    return demographics(d, given_name=new_given, family_name=new_family)


def _optional_dropped(gen: PersonGenerator, d: Demographics) -> Demographics:
    """No optional field and the gender "not specified" (9), as the held-out benchmark sent them."""
    fields = d.model_dump(include={"given_name", "family_name", "date_of_birth", "last_known_postcode"})
    return Demographics.model_validate(fields | {"gender": 9})


# The errors issue 3 lists, with the relatives and strangers that must never get an exact match.
KINDS: dict[str, Corruption] = {
    "clean": _registered("clean", _clean),
    "typo": _registered("typo", _typo),
    "transposition": _registered("transposition", _transposition),
    "nickname": _registered("nickname", _nickname_given),
    "names_swapped": _registered("names_swapped", _swapped_names),
    "partial_name": _registered("partial_name", _partial),
    "new_family_with_previous": _registered("new_family_with_previous", _new_family(with_previous=True)),
    "new_family_no_previous": _registered("new_family_no_previous", _new_family(with_previous=False)),
    "former_family_name": _registered("former_family_name", _former_family),
    "dob_day_month_swapped": _registered("dob_day_month_swapped", _dob_swapped),
    "moved_same_district": _registered("moved_same_district", _moved_same_district),
    "moved_elsewhere": _registered("moved_elsewhere", _moved_elsewhere),
    "postcode_format": _registered("postcode_format", _postcode_formatted),
    "accents": _registered("accents", _accents),
    "twin": _relative("twin", "twins"),
    "sibling": _relative("sibling", "siblings"),
    "namesake_moved": _relative("namesake_moved", "namesakes", _moved_elsewhere),
    "unregistered_twin": _unregistered_twin,
    "not_registered": _not_registered,
}
UNREGISTERED = {"unregistered_twin", "not_registered", "stranger"}
# Beyond the list (--hard): a date of birth off by one, the wrong gender, and two errors
# at once, as when a learner marries and moves. Reported on their own, outside the headline figures.
HARD_KINDS: dict[str, Corruption] = {
    "dob_typo": _registered("dob_typo", _dob_typo),
    "gender_flipped": _registered("gender_flipped", _gender_flipped),
    "married_and_moved": _registered("married_and_moved", _new_family(with_previous=False), _moved_elsewhere),
    "married_prev_and_moved": _registered("married_prev_and_moved", _new_family(with_previous=True), _moved_elsewhere),
    "nickname_and_moved": _registered("nickname_and_moved", _nickname_given, _moved_elsewhere),
    "typo_and_moved": _registered("typo_and_moved", _typo, _moved_elsewhere),
    "swapped_and_moved": _registered("swapped_and_moved", _swapped_names, _moved_elsewhere),
    "dob_swapped_and_typo": _registered("dob_swapped_and_typo", _dob_swapped, _typo),
}
# Issue 13 (--unseen): one mandatory field wholly wrong, and the compound slips a held-out public
# benchmark showed the hub missing. Reported on their own, with their own figures.
UNSEEN_KINDS: dict[str, Corruption] = {
    "dob_replaced": _registered("dob_replaced", _dob_replaced),
    "given_replaced": _registered("given_replaced", _given_replaced),
    "family_replaced": _registered("family_replaced", _new_family(with_previous=False)),
    "postcode_replaced": _registered("postcode_replaced", _moved_elsewhere),
    "gender_replaced": _registered("gender_replaced", _gender_flipped),
    "swapped_and_mistyped": _registered("swapped_and_mistyped", _swapped_and_mistyped),
    "space_inside_name": _registered("space_inside_name", _spaced),
    "both_names_mistyped": _registered("both_names_mistyped", _both_mistyped),
    "typo_and_sector_off": _registered("typo_and_sector_off", _typo_and_sector_off),
    "given_replaced_and_sector_off": _registered("given_replaced_and_sector_off", _given_replaced_and_sector_off),
    "space_inside_and_mistyped": _registered("space_inside_and_mistyped", _spaced_and_mistyped),
    "optional_dropped": _registered("optional_dropped", _optional_dropped),
    "optional_dropped_and_typo": _registered("optional_dropped_and_typo", _optional_dropped, _typo),
    "stranger": _not_registered,
}


def queries_of_kind(
    kind: str, count: int, register: SyntheticRegister, seed: int, crowding: int = 1
) -> Iterator[Query]:
    """`count` queries of one kind, from learners it applies to, in a seeded random order.

    Each kind has its own random stream, so adding a kind never changes another's queries. When
    fewer learners qualify than `count`, they are used again (with fresh random corruptions).
    """
    gen = PersonGenerator(f"{seed}:{kind}", crowding)  # strangers are born on the same crowded days
    corrupt = (KINDS | HARD_KINDS | UNSEEN_KINDS)[kind]
    made = 0
    while made < count:
        order = list(register.learners)
        gen.rng.shuffle(order)
        made_this_pass = 0
        for learner in order:
            if (q := corrupt(gen, learner, register)) is not None:
                yield q
                made += 1
                made_this_pass += 1
                if made == count:
                    return
        if made_this_pass == 0:
            return  # no learner qualifies for this kind


# ---------------------------------------------------------------- retrieval
class BlockingIndex:
    """The register's blocking index in memory: key -> learners, as PostgreSQL would hold it."""

    def __init__(self, learners: list[Learner]) -> None:
        self.index: dict[str, list[Learner]] = {}
        for learner in learners:
            for key in learner_block_keys(learner):
                self.index.setdefault(key, []).append(learner)

    def candidates(self, query: Demographics) -> list[Learner]:
        found: dict[str, Learner] = {}
        for key in query_block_keys(query):
            for learner in self.index.get(key, ()):
                found[learner.uln] = learner
        return list(found.values())


# ---------------------------------------------------------------- scoring the answers
@dataclass
class KindStats:
    kind: str
    registered: bool = True  # False: the query's person is not in the register
    group: str = "headline"  # or "hard" (--hard), "unseen" (--unseen): kept out of the headline figures
    n: int = 0
    exact_right: int = 0
    exact_wrong: int = 0
    possible_right: int = 0  # possible (or ambiguous) matches that include the right learner
    possible_other: int = 0  # possible matches without the right learner (for strangers: any)
    too_many: int = 0
    none: int = 0
    not_retrieved: int = 0  # the right learner was not even among the candidates
    candidates: list[int] = field(default_factory=list)
    ranks: list[int] = field(default_factory=list)  # the right learner's place (1 = first) among possibles
    offered: int = 0  # learners returned, exact or possible: the pairs the answer proposes
    examples: list[str] = field(default_factory=list)

    @property
    def headline(self) -> bool:
        return self.group == "headline"

    @property
    def retrieved(self) -> int:
        return self.n - self.not_retrieved if self.registered else 0

    @property
    def found(self) -> int:
        return self.exact_right + self.possible_right

    @property
    def missed(self) -> int:
        return self.n - self.found if self.registered else 0


def _describe(d: Demographics | LearnerDetails) -> str:
    previous = f" (prev {d.previous_family_name})" if d.previous_family_name else ""
    return f"{d.given_name} | {d.family_name}{previous} | {d.date_of_birth} | {int(d.gender)} | {d.last_known_postcode}"


def _example(q: Query, result: MatchResult, retrieved: bool, verdict: str) -> str:
    lines = [
        f"[{q.kind}] {verdict}: {result.outcome.value}, right learner {'retrieved' if retrieved else 'NOT retrieved'}"
    ]
    lines.append(f"    query:   {_describe(q.demographics)}")
    lines.append(f"    learner: {_describe(q.source)}" + ("" if q.right else " (not registered)"))
    for m in result.matches[:3]:
        mark = "right" if q.right and m.learner.uln == q.right.uln else "other"
        lines.append(
            f"    {mark}:   {_describe(m.learner.details)}  score={m.score} differs={','.join(m.differing_fields)}"
        )
    return "\n".join(lines)


def tally(stats: KindStats, q: Query, candidates: list[Learner], result: MatchResult, keep_examples: int) -> None:
    """Count one answer into its kind's figures."""
    stats.n += 1
    stats.candidates.append(len(candidates))
    stats.offered += len(result.matches) if result.outcome != MatchOutcome.TOO_MANY else 0
    right = q.right.uln if q.right else None
    returned = [m.learner.uln for m in result.matches]
    verdict = ""
    if result.outcome == MatchOutcome.EXACT:
        if returned[0] == right:
            stats.exact_right += 1
        else:
            stats.exact_wrong += 1
            verdict = "WRONG EXACT"
    elif result.outcome in (MatchOutcome.POSSIBLE, MatchOutcome.AMBIGUOUS):
        if right in returned:
            stats.possible_right += 1
            stats.ranks.append(returned.index(right) + 1)
        else:
            stats.possible_other += 1
            verdict = "missed" if right else "stranger offered candidates"
    elif result.outcome == MatchOutcome.TOO_MANY:
        stats.too_many += 1
        verdict = "missed" if right else ""
    else:
        stats.none += 1
        verdict = "missed" if right else ""
    retrieved = right is not None and any(c.uln == right for c in candidates)
    if right is not None and right not in returned:
        stats.not_retrieved += not retrieved
    if verdict and len(stats.examples) < keep_examples:
        stats.examples.append(_example(q, result, retrieved, verdict))


@dataclass
class Report:
    learners: int
    seed: int
    crowding: int
    kinds: dict[str, KindStats]
    seconds: float

    def summary(self) -> dict[str, Any]:
        """The headline figures (the JSON line)."""
        stats = [s for s in self.kinds.values() if s.headline]
        registered = [s for s in stats if s.registered]
        asked = sum(s.n for s in registered)
        clean = self.kinds["clean"]
        sizes = sorted(c for s in stats for c in s.candidates)
        hard = [s for s in self.kinds.values() if s.group == "hard"]
        hard_asked = sum(s.n for s in hard)
        hard_figures = {
            "hard_queries": hard_asked,
            "hard_wrong_exact": sum(s.exact_wrong for s in hard),
            "hard_right_found_rate": _rate(sum(s.found for s in hard), hard_asked),
            "hard_false_new_uln_rate": _rate(sum(s.none for s in hard), hard_asked),
        }
        unseen = [s for s in self.kinds.values() if s.group == "unseen"]
        unseen_figures = _group_figures("unseen_", unseen) if unseen else {}
        return (
            {
                "queries": sum(s.n for s in stats),
                "wrong_exact": sum(s.exact_wrong for s in stats),
                "right_found_rate": _rate(sum(s.found for s in registered), asked),
                "exact_rate_clean": _rate(clean.exact_right, clean.n),
                "false_new_uln_rate": _rate(sum(s.none for s in registered), asked),
                "exact_rate": _rate(sum(s.exact_right for s in registered), asked),
                "not_retrieved_rate": _rate(sum(s.not_retrieved for s in registered), asked),
                "unregistered_possible_rate": _rate(
                    sum(s.possible_other for s in stats if not s.registered),
                    sum(s.n for s in stats if not s.registered),
                ),
                "mean_candidates": round(sum(sizes) / len(sizes), 2),
                "p99_candidates": sizes[int(0.99 * (len(sizes) - 1))],
                "max_candidates": sizes[-1],
                "learners": self.learners,
                "seed": self.seed,
                "crowding": self.crowding,
                "seconds": round(self.seconds, 2),
            }
            | _pair_figures("", stats)
            | (hard_figures if hard else {})
            | unseen_figures
        )


def _pair_figures(prefix: str, stats: list[KindStats]) -> dict[str, float]:
    """Pair precision, recall and F1: a pair is a query and a learner the answer returned (exact or possible)."""
    right = sum(s.found for s in stats if s.registered)
    offered = sum(s.offered for s in stats)
    asked = sum(s.n for s in stats if s.registered)
    precision, recall = (right / offered if offered else 1.0), (right / asked if asked else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        f"{prefix}pair_precision": round(precision, 5),
        f"{prefix}pair_recall": round(recall, 5),
        f"{prefix}pair_f1": round(f1, 5),
    }


def _group_figures(prefix: str, stats: list[KindStats]) -> dict[str, Any]:
    """The figures of a group of kinds reported on its own (--unseen)."""
    registered = [s for s in stats if s.registered]
    strangers = [s for s in stats if not s.registered]
    asked = sum(s.n for s in registered)
    return {
        f"{prefix}queries": sum(s.n for s in stats),
        f"{prefix}wrong_exact": sum(s.exact_wrong for s in stats),
        f"{prefix}right_found_rate": _rate(sum(s.found for s in registered), asked),
        f"{prefix}exact_rate": _rate(sum(s.exact_right for s in registered), asked),
        f"{prefix}false_new_uln_rate": _rate(sum(s.none for s in registered), asked),
        f"{prefix}retrieved_rate": _rate(sum(s.retrieved for s in registered), asked),
        f"{prefix}stranger_new_uln_rate": _rate(sum(s.none for s in strangers), sum(s.n for s in strangers)),
    } | _pair_figures(prefix, stats)


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 5) if whole else 0.0


def run(
    learners: int = 20_000,
    queries: int = 10_000,
    seed: int = 7,
    keep_examples: int = 0,
    density_of: int = 0,
    hard: bool = False,
    unseen: int = 0,
) -> Report:
    """Build the register and index, ask `queries` queries spread evenly over the kinds, count.

    `density_of`: crowd the birth dates so each has as many learners as a register of that size
    would (see `PersonGenerator`); 0 keeps the real age spread. `hard`: also ask the HARD_KINDS,
    as many of each as of a headline kind (on top of `queries`). `unseen`: also ask this many
    queries spread over the UNSEEN_KINDS (issue 13), on top of the others.
    """
    started = time.perf_counter()
    crowding = max(1, round(density_of / learners)) if density_of else 1
    register = synthetic_register(learners, seed, crowding)
    index = BlockingIndex(register.learners)
    # The register's own name frequencies, as the hub computes them from its learners.
    frequencies = NameFrequencies.of_names((x.details.given_name, x.details.family_name, 1) for x in register.learners)
    per_kind = {kind: queries // len(KINDS) + (i < queries % len(KINDS)) for i, kind in enumerate(KINDS)}
    if hard:
        per_kind |= dict.fromkeys(HARD_KINDS, queries // len(KINDS))
    per_kind |= {k: unseen // len(UNSEEN_KINDS) + (i < unseen % len(UNSEEN_KINDS)) for i, k in enumerate(UNSEEN_KINDS)}
    results: dict[str, KindStats] = {}
    for kind, count in per_kind.items():
        group = "headline" if kind in KINDS else "hard" if kind in HARD_KINDS else "unseen"
        stats = results[kind] = KindStats(kind, registered=kind not in UNREGISTERED, group=group)
        for q in queries_of_kind(kind, count, register, seed, crowding):
            candidates = index.candidates(q.demographics)
            tally(stats, q, candidates, match_learner(q.demographics, candidates, frequencies), keep_examples)
    return Report(len(register.learners), seed, crowding, results, time.perf_counter() - started)


# ---------------------------------------------------------------- output
def table(report: Report) -> Table:
    crowded = f", birth dates crowded {report.crowding}x" if report.crowding > 1 else ""
    t = Table(title=f"Matching quality: {report.learners:,} learners, seed {report.seed}{crowded}")
    for column in ("kind", "n", "exact ✓", "exact ✗", "possible ✓", "possible ✗", "too many", "none", "missed"):
        t.add_column(column, justify="left" if column == "kind" else "right")
    for column in ("not retrieved", "found %", "rank mean", "rank max", "cands mean", "cands max"):
        t.add_column(column, justify="right")
    for s in report.kinds.values():
        if not s.n:
            continue
        if s.kind in (next(iter(HARD_KINDS)), next(iter(UNSEEN_KINDS))):
            t.add_section()  # the --hard and --unseen kinds, outside the headline figures
        wrong = f"[bold red]{s.exact_wrong}[/]" if s.exact_wrong else "0"
        found = f"{100 * s.found / s.n:.1f}" if s.registered else "-"
        t.add_row(
            s.kind,
            str(s.n),
            str(s.exact_right) if s.registered else "-",
            wrong,
            str(s.possible_right) if s.registered else "-",
            str(s.possible_other),
            str(s.too_many),
            str(s.none),
            str(s.missed) if s.registered else "-",
            str(s.not_retrieved) if s.registered else "-",
            found,
            f"{sum(s.ranks) / len(s.ranks):.2f}" if s.ranks else "-",
            str(max(s.ranks)) if s.ranks else "-",
            f"{sum(s.candidates) / s.n:.1f}",
            str(max(s.candidates)),
        )
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=20_000, help="size of the synthetic register")
    parser.add_argument("--queries", type=int, default=10_000, help="queries in total, spread over the kinds")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--examples", type=int, default=0, help="print up to K misses/wrong exacts per kind to stderr")
    parser.add_argument(
        "--density-of",
        type=int,
        default=0,
        metavar="N",
        help="crowd birth dates to the learners-per-day of a register of N (e.g. 10000000); ages become meaningless",
    )
    parser.add_argument(
        "--hard", action="store_true", help="also ask the HARD_KINDS (compound errors, dob typos), on top of --queries"
    )
    parser.add_argument(
        "--unseen",
        type=int,
        default=0,
        metavar="Q",
        help="also ask Q queries over the UNSEEN_KINDS (issue 13: a field wholly wrong, compound slips)",
    )
    args = parser.parse_args()
    report = run(args.learners, args.queries, args.seed, args.examples, args.density_of, args.hard, args.unseen)
    for s in report.kinds.values():
        for example in s.examples:
            print(example, file=sys.stderr)
    Console(width=160).print(table(report))
    print(json.dumps(report.summary()))


if __name__ == "__main__":
    main()

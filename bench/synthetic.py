"""A synthetic UK learner register: realistic names, ages, postcodes, and the families that make matching hard.

Everything is drawn from one seeded `random.Random`, so a seed gives the same register on every
run and machine. What it models, and why:

- Given and family names follow rough UK frequencies (rank-ordered lists with Zipf-like weights),
  with a long tail of rare names made from syllables: common names are what make "exact" risky,
  rare names what make blocking keys selective.
- Some names are hyphenated or double-barrelled ("Smith-Jones", "Lloyd Webber"), some given names
  have two parts ("Lily-May", "Oliver James"), some carry accents or apostrophes ("Zoë",
  "O'Brien"): each is a way a provider types the name differently.
- Dates of birth for ages 13-110, mostly 13-25 (the register is mostly school and college
  learners). Postcodes in the real format, drawn from real areas and district ranges, shared by
  households and, sometimes, by unrelated neighbours.
- Twins (same family name, date of birth and postcode, other given name), siblings (same
  family name and postcode, other date of birth), namesakes (same names, date of birth and gender,
  living elsewhere: at 10 million learners a common name shares its birthday with a stranger
  often, which a 20,000-learner register would otherwise never show), and learners recorded
  with a previous family name.
"""

import bisect
import itertools
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from contracts.learner import LearnerDetails
from hub.kernel.model import Learner
from hub.register.normalise import name_key
from hub.register.uln import uln_for_issue_number

REFERENCE_DATE = date(2026, 9, 1)  # "today" for ages: fixed, so a seed gives the same register forever
MALE, FEMALE = 1, 2

# ---- names, most frequent first (a mix of generations: the register spans ages 13-110)
MALE_GIVEN = """
Oliver Muhammad George Noah Jack Harry Leo Oscar Arthur Charlie Jacob Thomas Henry James William Alfie
Freddie Theo Archie Joshua Alexander Daniel Samuel Joseph Isaac Lucas Ethan Max Mohammed Thomas Logan
Dylan Adam Benjamin Edward Sebastian Finley Teddy Harrison Reuben Tommy Riley Toby Jude Hugo Louie Elijah
Ryan Callum Liam Kieran Connor Lewis Nathan Jamie Jordan Matthew Luke Michael Christopher David Andrew
Robert John Paul Mark Richard Stephen Peter Anthony Kevin Gary Steven Simon Martin Neil Ian Craig Darren
Lee Scott Jason Wayne Carl Dean Shaun Stuart Graham Colin Keith Brian Kenneth Dennis Raymond Derek
Trevor Barry Malcolm Roger Philip Nicholas Patrick Sean Seán Eoin Ciaran Declan Owen Rhys Dafydd Gareth
Iwan Hamish Angus Fraser Euan Alistair Ross Bilal Hassan Ibrahim Yusuf Omar Arjun Rohan Aarav Kacper
Jakub Oskar Ahmed Tariq Kwame Chidi Tobias Felix Stanley Frederick Jasper Louis Harvey Bobby Elliot Kian
Dominic Nathaniel Gabriel Jayden Tyler Bradley Jake Joel Reggie Ronnie Albert Zachary Alfred Jonathan
Timothy Noel José
""".split()
FEMALE_GIVEN = """
Olivia Amelia Isla Ava Lily Freya Ivy Florence Mia Willow Rosie Sophia Isabella Grace Daisy Sienna Poppy
Elsie Emily Ella Evelyn Phoebe Sofia Evie Charlotte Harper Millie Matilda Maya Sophie Alice Emilia Isabelle
Ruby Luna Maisie Aria Penelope Mila Bonnie Eva Hallie Mabel Layla Ada Jessica Chloe Zoe Hannah Lucy
Ellie Megan Lauren Bethany Katie Amy Rebecca Jade Holly Georgia Abigail Eleanor Imogen Niamh Aoife Chloë
Zoë Siân Seren Ffion Caitlin Erin Eilidh Iona Kirsty Fatima Aisha Zainab Maryam Amira Priya Ananya
Zuzanna Julia Maja Sarah Laura Emma Claire Nicola Rachel Samantha Victoria Kelly Stacey Gemma Natalie
Michelle Lisa Joanne Karen Helen Julie Susan Deborah Tracey Alison Jacqueline Angela Catherine Elizabeth
Margaret Patricia Christine Linda Carol Janet Barbara Sandra Jean Mary Anne Dorothy Joan Pauline Wendy
Brenda Valerie Gillian Diane Jennifer Kathryn Louise Harriet Rosa Violet Beatrice Clara Esme Aurora
Nancy Edith Margot Thea Orla Róisín Renée Amélie Nia Alexandra Bethan Gwen Caroline Katherine Jenny
""".split()
FAMILY = """
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright
Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill
Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker
Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy
Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman
Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight
Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher
Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks
West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan
Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe
Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson Newton
Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke Bates Henderson Parry Burgess Bishop
Walton Burns Nicholson Shepherd Ross Cross Long Freeman Warren Nicholls Hamilton Byrne Sutton McDonald
Yates Hodgson Robson Curtis Hopkins O'Connor Harper Coleman Watkins Moss McCarthy Chambers O'Neill
Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle Wallace George Jordan Hutchinson
Rahman Nowak Kowalski Nguyen Okafor Mensah D'Souza O'Sullivan MacDonald Müller García Sánchez Brontë
""".split()
_NAME_PARTS = re.compile(r"[\s\-]+")
_HYPHENATED_GIVEN = "Lily-May Ella-Rose Tia-Mae Anna-Maria Mary-Jane Lacey-Mae Jean-Paul Jean-Luc".split()

# Short forms people give instead of the registered name, both ways round. Kept here, independent
# of whatever nickname library the matcher uses, so the benchmark does not grade its own homework.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy"),
    "Catherine": ("Kate", "Cathy", "Kath"),
    "Katherine": ("Kate", "Katie", "Kathy"),
    "Kathryn": ("Kate", "Kathy"),
    "Thomas": ("Tom", "Tommy"),
    "Alexander": ("Alex", "Xander"),
    "Alexandra": ("Alex", "Lexi"),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Elizabeth": ("Liz", "Lizzie", "Beth", "Libby"),
    "Daniel": ("Dan", "Danny"),
    "Bethany": ("Beth",),
    "Robert": ("Rob", "Bob", "Robbie"),
    "Richard": ("Rich", "Rick", "Richie"),
    "Michael": ("Mike", "Mick"),
    "Christopher": ("Chris",),
    "Matthew": ("Matt",),
    "Joseph": ("Joe", "Joey"),
    "Samuel": ("Sam", "Sammy"),
    "Samantha": ("Sam", "Sammie"),
    "Benjamin": ("Ben", "Benji"),
    "Jonathan": ("Jon", "Jonny"),
    "Nicholas": ("Nick", "Nicky"),
    "Anthony": ("Tony",),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Frederick": ("Fred", "Freddie"),
    "Alfred": ("Alf", "Alfie"),
    "Henry": ("Harry", "Hal"),
    "Stephen": ("Steve",),
    "Steven": ("Steve",),
    "Andrew": ("Andy", "Drew"),
    "David": ("Dave",),
    "Peter": ("Pete",),
    "Philip": ("Phil",),
    "Patrick": ("Pat", "Paddy"),
    "Timothy": ("Tim",),
    "Jennifer": ("Jen", "Jenny"),
    "Rebecca": ("Becky", "Becca"),
    "Jessica": ("Jess",),
    "Victoria": ("Vicky", "Tori"),
    "Abigail": ("Abi", "Abby"),
    "Eleanor": ("Ellie", "Nell"),
    "Isabella": ("Izzy", "Bella"),
    "Isabelle": ("Izzy", "Belle"),
    "Charlotte": ("Lottie",),
    "Florence": ("Flo", "Florrie"),
    "Matilda": ("Tilly",),
    "Olivia": ("Liv", "Livvy"),
    "Harriet": ("Hattie",),
    "Penelope": ("Penny",),
    "Susan": ("Sue", "Susie"),
    "Deborah": ("Debbie", "Deb"),
    "Patricia": ("Pat", "Trish"),
    "Christine": ("Chris", "Tina"),
    "Jacqueline": ("Jackie",),
    "Gillian": ("Jill", "Gill"),
    "Nathaniel": ("Nate", "Nat"),
    "Zachary": ("Zach", "Zac"),
    "Oliver": ("Ollie", "Olly"),
    "Kenneth": ("Ken", "Kenny"),
    "Raymond": ("Ray",),
    "Dominic": ("Dom",),
    "Sebastian": ("Seb",),
    "Joshua": ("Josh",),
    "Jacob": ("Jake",),
    "Gabriel": ("Gabe",),
    "Megan": ("Meg",),
    "Natalie": ("Nat",),
    "Nicola": ("Nicky",),
    "Emily": ("Em", "Emmy"),
    "Imogen": ("Immy",),
    "Georgia": ("Georgie",),
    "Dorothy": ("Dot", "Dotty"),
    "Barbara": ("Babs",),
    "Valerie": ("Val",),
    "Caroline": ("Carrie",),
    "Theodore": ("Theo", "Teddy"),
    "Reginald": ("Reggie",),
    "Ronald": ("Ronnie",),
}
# Spellings with and without accents: the register holds one, the provider types the other.
ACCENTED = {"Zoe": "Zoë", "Chloe": "Chloë", "Sian": "Siân", "Sean": "Seán", "Renee": "Renée", "Jose": "José"}


def nickname_forms(name: str) -> set[str]:
    """The name's short forms and the full names it shortens ("Kate" -> {"Catherine", ...})."""
    forms = set(NICKNAMES.get(name, ()))
    forms |= {full for full, shorts in NICKNAMES.items() if name in shorts}
    return forms


# ---- postcodes: real areas with their district ranges, weighted roughly by population
_AREAS: dict[str, tuple[range, float]] = {
    "B": (range(1, 99), 8), "M": (range(1, 91), 7), "LS": (range(1, 30), 5), "L": (range(1, 41), 4),
    "SW": (range(1, 21), 5), "E": (range(1, 19), 5), "N": (range(1, 23), 4), "NW": (range(1, 12), 3),
    "SE": (range(1, 29), 6), "W": (range(1, 15), 3), "EC": (range(1, 5), 0.5), "WC": (range(1, 3), 0.5),
    "CF": (range(3, 49), 3), "G": (range(1, 85), 5), "EH": (range(1, 56), 4), "BS": (range(1, 50), 4),
    "NE": (range(1, 72), 5), "S": (range(1, 76), 5), "NG": (range(1, 26), 4), "LE": (range(1, 20), 4),
    "CV": (range(1, 48), 3), "BD": (range(1, 25), 3), "SO": (range(14, 54), 3), "BN": (range(1, 46), 3),
    "OX": (range(1, 50), 2), "NR": (range(1, 36), 3), "AB": (range(10, 57), 2), "BT": (range(1, 95), 5),
    "PL": (range(1, 36), 2), "SA": (range(1, 74), 3), "YO": (range(1, 63), 2), "HU": (range(1, 21), 2),
    "ST": (range(1, 22), 3), "DE": (range(1, 76), 3), "WV": (range(1, 17), 2), "CB": (range(1, 26), 2),
    "MK": (range(1, 47), 2), "RG": (range(1, 46), 3),
}  # fmt: skip
# Central London districts split by a letter (SW1A, EC2V, W1D); always so in EC and WC.
_LETTERED = {("SW", 1), ("W", 1), ("E", 1), ("N", 1), ("NW", 1), ("SE", 1)}
_DISTRICT_LETTERS = "ABCEHMNPRVWXY"
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the inward code never uses C, I, K, M, O, V

# ---- the long tail: rare names built from syllables
_SYLLABLES = "ka lo mi ra ne to su vi da re an el or is um be co fa gu hi jo ly ma no pe sa te wy zo".split()
_FAMILY_ENDINGS = "son ton ley well by ford worth ham er field wood ridge more".split() + [""] * 4
_RARE_FAMILY = 0.62  # share of learners whose family name is outside the top 200 (UK: about 60%)
_RARE_GIVEN = 0.10

# ---- family structure (per learner drawn)
_TWIN = 0.02
_SIBLING = 0.05
_NAMESAKE = 0.03  # of learners with a common given and family name
_SHARED_POSTCODE = 0.25  # an unrelated neighbour already in the register lives at the same postcode


@dataclass(frozen=True)
class WeightedNames:
    """Names with Zipf-like weights (1 / rank**exponent): the first is far commoner than the last."""

    names: tuple[str, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def zipf(cls, names: Sequence[str], exponent: float) -> "WeightedNames":
        unique = tuple(dict.fromkeys(names))  # the lists may repeat a name; keep its first rank
        weights = [1 / (rank**exponent) for rank in range(1, len(unique) + 1)]
        return cls(unique, tuple(itertools.accumulate(weights)))

    def draw(self, rng: random.Random) -> str:
        return self.names[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]

    def __contains__(self, name: object) -> bool:
        return name in self.names


# Exponents chosen so the first name is 10-20x the last and the commonest given name about 3% of
# its gender, the commonest family name about 1.5% of everyone, roughly as in UK name statistics.
_GIVEN = {MALE: WeightedNames.zipf(MALE_GIVEN, 0.5), FEMALE: WeightedNames.zipf(FEMALE_GIVEN, 0.5)}
_FAMILY = WeightedNames.zipf(FAMILY, 0.55)
_AREA_NAMES = tuple(_AREAS)
_AREA_CUMULATIVE = tuple(itertools.accumulate(weight for _, weight in _AREAS.values()))
# Ages: (youngest, oldest, share). Most learners are at school or college.
_AGE_BANDS = ((13, 18, 0.45), (19, 25, 0.25), (26, 40, 0.15), (41, 60, 0.10), (61, 110, 0.05))


def plain(name: str) -> str:
    """The name without accents or apostrophes, as typed on a keyboard without them: "O'Brien" -> "OBrien"."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c) and c != "'")


def is_common(details: LearnerDetails) -> bool:
    """Both names from the frequency lists (not the syllable tail)."""
    return details.given_name in _GIVEN[details.gender] and details.family_name in _FAMILY


def _years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years)


class PersonGenerator:
    """Draws people, their relatives and their postcodes from one seeded stream.

    `crowding` > 1 squeezes the calendar: dates of birth fall on `crowding` times fewer days, so
    a register of N learners has the learners-per-birth-date of one of `crowding` * N. Matching
    compares people born on the same day (or a day-month swap of it), so this shows a small
    register the strangers a large one would put beside each learner: the same-day Oliver
    Smiths and same-day Smiths of 10 million learners. Ages then no longer mean anything.
    """

    def __init__(self, seed: int | str, crowding: int = 1) -> None:
        self.rng = random.Random(seed)
        self.crowding = crowding

    # -- names
    def given_name(self, gender: int) -> str:
        r = self.rng.random()
        if r < _RARE_GIVEN:
            return self._rare_given()
        if r < _RARE_GIVEN + 0.01:
            return self.rng.choice(_HYPHENATED_GIVEN)
        first = _GIVEN[gender].draw(self.rng)
        if r < _RARE_GIVEN + 0.07:  # two given names: "Oliver James"
            second = _GIVEN[gender].draw(self.rng)
            if name_key(second) != name_key(first):
                return f"{first} {second}"
        return first

    def family_name(self) -> str:
        r = self.rng.random()
        name = self._rare_family() if r < _RARE_FAMILY else _FAMILY.draw(self.rng)
        if r > 0.97:  # double-barrelled: mostly hyphenated, some with a space ("Lloyd Webber")
            other = _FAMILY.draw(self.rng)
            joined = f"{name}-{other}" if self.rng.random() < 0.7 else f"{name} {other}"
            if name_key(other) != name_key(name) and len(joined) <= 35:
                return joined
        return name

    def other_given_name(self, gender: int, *not_like: str) -> str:
        """A given name sharing no part with any of `not_like` or their short forms.

        Parents do not give two of their children the same first name: "Timothy" is no name for
        the twin of "Timothy Joshua".
        """
        avoid = {name_key(part) for n in not_like for part in _NAME_PARTS.split(n)}
        avoid |= {name_key(f) for n in not_like for part in _NAME_PARTS.split(n) for f in nickname_forms(part)}
        same_initial = self.rng.random() < 0.25  # twins are often given alike names: Ella and Emma
        for attempt in range(100):
            name = self.given_name(gender)
            if avoid & {name_key(part) for part in _NAME_PARTS.split(name)}:
                continue
            if same_initial and attempt < 50 and name[0] != not_like[0][0]:
                continue
            return name
        raise RuntimeError("no other given name found")  # never happens with these lists

    def other_family_name(self, *not_like: str) -> str:
        avoid = {name_key(n) for n in not_like}
        while name_key(name := self.family_name()) in avoid:
            pass
        return name

    def _syllables(self, low: int, high: int) -> str:
        return "".join(self.rng.choice(_SYLLABLES) for _ in range(self.rng.randint(low, high)))

    def _rare_given(self) -> str:
        return self._syllables(2, 3).capitalize()

    def _rare_family(self) -> str:
        name = self._syllables(1, 2) + self.rng.choice(_FAMILY_ENDINGS)
        if len(name) < 4:  # "Te", "Lo": too few letters for a family name to be anyone's in the tail
            name += self.rng.choice([e for e in _FAMILY_ENDINGS if e])
        return name.capitalize()

    # -- dates of birth
    def date_of_birth(self) -> date:
        return self._crowd(self._uncrowded_date_of_birth())

    def _uncrowded_date_of_birth(self) -> date:
        youngest, oldest, _ = self.rng.choices(_AGE_BANDS, weights=[b[2] for b in _AGE_BANDS])[0]
        latest = _years_before(REFERENCE_DATE, youngest)
        earliest = _years_before(REFERENCE_DATE, oldest + 1) + timedelta(days=1)
        return earliest + timedelta(days=self.rng.randrange((latest - earliest).days + 1))

    def _crowd(self, born: date) -> date:
        if self.crowding == 1:
            return born
        youngest = _years_before(REFERENCE_DATE, 13)
        return youngest - timedelta(days=(youngest - born).days // self.crowding)

    def sibling_date_of_birth(self, born: date) -> date:
        """Ten months to eleven years apart, staying within ages 13-110."""
        if self.crowding > 1:  # years apart would leave the crowded days: another crowded day
            while (other := self.date_of_birth()) == born:
                pass
            return other
        latest = _years_before(REFERENCE_DATE, 13)
        earliest = _years_before(REFERENCE_DATE, 111) + timedelta(days=1)
        gap = timedelta(days=self.rng.randint(300, 4000))
        for candidate in self.rng.sample([born - gap, born + gap], 2):
            if earliest <= candidate <= latest:
                return candidate
        return self.date_of_birth()

    # -- postcodes
    def postcode(self) -> str:
        area = _AREA_NAMES[bisect.bisect_right(_AREA_CUMULATIVE, self.rng.random() * _AREA_CUMULATIVE[-1])]
        number = self.rng.choice(_AREAS[area][0])
        lettered = area in ("EC", "WC") or ((area, number) in _LETTERED and self.rng.random() < 0.5)
        district = f"{area}{number}{self.rng.choice(_DISTRICT_LETTERS) if lettered else ''}"
        return f"{district} {self._inward()}"

    def postcode_in_district(self, postcode: str) -> str:
        """Another postcode with the same outward code (a move round the corner)."""
        outward, inward = postcode.split()
        while (new := self._inward()) == inward:
            pass
        return f"{outward} {new}"

    def postcode_elsewhere(self, postcode: str) -> str:
        """A postcode in another district (a move to another town, or across the city)."""
        outward = postcode.split()[0]
        while (new := self.postcode()).split()[0] == outward:
            pass
        return new

    def _inward(self) -> str:
        return f"{self.rng.randrange(10)}{self.rng.choice(_UNIT_LETTERS)}{self.rng.choice(_UNIT_LETTERS)}"

    # -- people
    def person(self, postcode: str | None = None) -> LearnerDetails:
        """A new, unrelated person."""
        gender = self.rng.choice((MALE, FEMALE))
        real_born = self._uncrowded_date_of_birth()
        born = self._crowd(real_born)
        family = self.family_name()
        previous = None
        age = REFERENCE_DATE.year - real_born.year
        if age >= 22 and self.rng.random() < (0.15 if gender == FEMALE else 0.01):
            previous, family = family, self.other_family_name(family)  # married and took a new name
        return details(
            given_name=self.given_name(gender),
            family_name=family,
            previous_family_name=previous,
            date_of_birth=born,
            gender=gender,
            last_known_postcode=postcode or self.postcode(),
        )

    def twin_of(self, sibling: LearnerDetails, *also_not: str) -> LearnerDetails:
        """Same family name, date of birth and postcode; another given name (and maybe gender)."""
        gender = self.rng.choice((MALE, FEMALE))
        given = self.other_given_name(gender, sibling.given_name, *also_not)
        return changed(sibling, given_name=given, gender=gender)

    def sibling_of(self, sibling: LearnerDetails) -> LearnerDetails:
        """Same family name and postcode; another given name and date of birth."""
        gender = self.rng.choice((MALE, FEMALE))
        return changed(
            sibling,
            given_name=self.other_given_name(gender, sibling.given_name),
            gender=gender,
            date_of_birth=self.sibling_date_of_birth(sibling.date_of_birth),
        )

    def namesake_of(self, person: LearnerDetails) -> LearnerDetails:
        """An unrelated person with the same names, date of birth and gender, living elsewhere."""
        return changed(
            person, last_known_postcode=self.postcode_elsewhere(person.last_known_postcode), previous_family_name=None
        )


def details(**fields: Any) -> LearnerDetails:
    """Validated learner details (so every name and postcode is one the contracts accept)."""
    return LearnerDetails(verification_type=1, **fields)


def changed(learner_details: LearnerDetails, **changes: Any) -> LearnerDetails:
    """A validated copy with some fields changed (model_copy would skip the contracts' checks)."""
    return LearnerDetails.model_validate(learner_details.model_dump() | changes)


@dataclass
class SyntheticRegister:
    """The learners, with who is whose twin, sibling or namesake (ULN to ULNs)."""

    learners: list[Learner]
    twins: dict[str, str] = field(default_factory=dict)
    siblings: dict[str, list[str]] = field(default_factory=dict)
    namesakes: dict[str, str] = field(default_factory=dict)
    by_uln: dict[str, Learner] = field(default_factory=dict)


class _RegisterBuilder:
    def __init__(self, seed: int | str, crowding: int) -> None:
        self.people = PersonGenerator(seed, crowding)
        self.register = SyntheticRegister([])
        self.postcodes: list[str] = []
        self.issue_numbers = itertools.count(1)

    def add(self, learner_details: LearnerDetails) -> Learner:
        while (uln := uln_for_issue_number(next(self.issue_numbers))) is None:
            pass  # about 1 number in 11 carries no valid check digit
        learner = Learner(uln=uln, details=learner_details)
        self.register.learners.append(learner)
        self.register.by_uln[uln] = learner
        return learner

    def household_postcode(self) -> str:
        rng = self.people.rng
        if self.postcodes and rng.random() < _SHARED_POSTCODE:
            return rng.choice(self.postcodes)
        postcode = self.people.postcode()
        self.postcodes.append(postcode)
        return postcode

    def add_family(self) -> None:
        """One person, and sometimes their twin, a sibling, or a stranger with their name."""
        rng, reg = self.people.rng, self.register
        first = self.add(self.people.person(self.household_postcode()))
        if rng.random() < _TWIN:
            twin = self.add(self.people.twin_of(first.details))
            reg.twins[first.uln], reg.twins[twin.uln] = twin.uln, first.uln
        if rng.random() < _SIBLING:
            sibling = self.add(self.people.sibling_of(first.details))
            reg.siblings.setdefault(first.uln, []).append(sibling.uln)
            reg.siblings.setdefault(sibling.uln, []).append(first.uln)
        if is_common(first.details) and rng.random() < _NAMESAKE:
            namesake = self.add(self.people.namesake_of(first.details))
            reg.namesakes[first.uln], reg.namesakes[namesake.uln] = namesake.uln, first.uln


def synthetic_register(size: int, seed: int | str = 0, crowding: int = 1) -> SyntheticRegister:
    """A register of `size` learners (give or take a family at the end), the same for the same seed.

    `crowding`: see `PersonGenerator`.
    """
    builder = _RegisterBuilder(seed, crowding)
    while len(builder.register.learners) < size:
        builder.add_family()
    return builder.register

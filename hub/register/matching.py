"""Matching: decide which registered learners a set of demographics describes.

`match_learner` is the one entry point. Each candidate is compared field by field; every
field's agreement has a level (exact, nickname, sound-alike, ...) and a weight, and the sum
is the candidate's score. The rules, all here:

- EXACT needs all five mandatory fields to agree after normalisation (case, accents,
  punctuation, postcode spacing; a previous family name counts) and exactly one learner to
  do so. Anything weaker is at best a possible match: an exact match to the wrong person is
  the worst thing the hub can do, so near agreement is shown, never decided.
- POSSIBLE: a score of at least POSSIBLE_SCORE, ranked by score, at most MAX_CANDIDATES;
  TOO_MANY beyond that. Twins (same family, birth date and postcode, other given names)
  score as possible matches of each other, never exact.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from nicknames import NickNamer
from rapidfuzz.distance import OSA, JaroWinkler

from contracts.codes import Gender
from contracts.learner import Demographics
from hub.kernel.model import Learner
from hub.register.blocking import name_parts, phonetic, swapped_day_month
from hub.register.diminutives import diminutive_forms
from hub.register.frequencies import NO_FREQUENCIES, NameFrequencies
from hub.register.normalise import name_key, postcode_key

MAX_CANDIDATES = 10  # LRS: more than 10 possible matches is "too many"
POSSIBLE_SCORE = 7.0
_FUZZY_NAME = 0.88  # Jaro-Winkler similarity from which two names are "close"

# Weights by field and agreement level. Disagreeing on a name or the birth date costs more
# than a postcode (people move) or gender (often mis-keyed).
_WEIGHTS: dict[str, dict[str, float]] = {
    "given_name": {"exact": 4, "nickname": 3, "similar": 2.5, "part": 2, "swapped": 3, "differs": -2},
    "family_name": {"exact": 4, "previous": 3.5, "similar": 2.5, "part": 2.5, "swapped": 3, "differs": -2},
    "date_of_birth": {"exact": 4, "day_month_swapped": 2.5, "close": 1, "differs": -3},
    "gender": {"exact": 0.5, "unknown": 0, "differs": -1.5},
    "last_known_postcode": {"exact": 2, "sector": 1.5, "district": 1, "area": 0.5, "differs": 0},
}
MAX_SCORE = sum(max(levels.values()) for levels in _WEIGHTS.values())  # +-1 per name by frequency


class MatchOutcome(StrEnum):
    EXACT = "exact"
    AMBIGUOUS = "ambiguous"  # several learners agree on all five fields
    POSSIBLE = "possible"
    TOO_MANY = "too_many"
    NONE = "none"


@dataclass(frozen=True)
class ScoredLearner:
    """A candidate, its score, how each field agreed, and which fields did not agree exactly."""

    learner: Learner
    # Equal candidates are the same learner differing in the same fields; how the score was
    # weighed is an explanation, not an identity.
    score: float = field(compare=False)
    differing_fields: tuple[str, ...]
    agreement: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class MatchResult:
    outcome: MatchOutcome
    matches: tuple[ScoredLearner, ...] = ()


@cache
def _nicknamer() -> NickNamer:
    return NickNamer()


@cache
def _name_forms(key: str) -> frozenset[str]:
    """A given name with its nicknames and the names it shortens: william -> {william, bill, will, ...}."""
    n = _nicknamer()
    forms = {key} | n.nicknames_of(key) | n.canonicals_of(key) | diminutive_forms(key)
    return frozenset(name_key(f) for f in forms)


def _name_level(ours: str, theirs: str, given: bool) -> str:
    a, b = name_key(ours), name_key(theirs)
    if not a or not b:
        return "differs"  # a name with no letter (data from before names needed one) agrees with nothing
    if a == b:
        return "exact"
    if given and _name_forms(a) & _name_forms(b):
        return "nickname"
    # One slip (an insertion, deletion, substitution or two letters swapped) in a name of three
    # letters or more (a letter dropped from one leaves two: Ivy/Vy, Day/Ay), or close by
    # Jaro-Winkler, or alike by sound. Jaro-Winkler alone judges short names harshly: Lisa/Liaa
    # is 0.87.
    one_slip = min(len(a), len(b)) >= 2 and max(len(a), len(b)) >= 3 and OSA.distance(a, b) <= 1
    alike = a.isascii() and b.isascii() and phonetic(a) == phonetic(b)
    if one_slip or alike or JaroWinkler.similarity(a, b) >= _FUZZY_NAME:
        return "similar"
    if name_parts(ours) & name_parts(theirs):
        return "part"  # one part of a hyphenated or multi-part name
    return "differs"


def _family_level(query: Demographics, learner: Learner) -> str:
    level = _name_level(query.family_name, learner.details.family_name, given=False)
    if level == "exact":
        return level
    # A changed family name agreeing exactly with the one before outranks a merely similar one.
    ours = {name_key(n) for n in (query.family_name, query.previous_family_name) if n}
    theirs = {name_key(n) for n in (learner.details.family_name, learner.details.previous_family_name) if n}
    return "previous" if ours & theirs else level


def _dob_level(query: Demographics, learner: Learner) -> str:
    ours, theirs = query.date_of_birth, learner.details.date_of_birth
    if ours == theirs:
        return "exact"
    if swapped_day_month(ours) == theirs:
        return "day_month_swapped"
    pairs = [
        (a, b) for a, b in ((ours.year, theirs.year), (ours.month, theirs.month), (ours.day, theirs.day)) if a != b
    ]
    return "close" if len(pairs) == 1 and _slip(*pairs[0]) else "differs"


def _slip(a: int, b: int) -> bool:
    """Whether two numbers differ as a keying slip would: by one, in one digit, or digits swapped."""
    x, y = f"{a:02d}", f"{b:02d}"
    return abs(a - b) == 1 or (len(x) == len(y) and sum(p != q for p, q in zip(x, y, strict=True)) == 1) or x == y[::-1]


def _gender_level(query: Demographics, learner: Learner) -> str:
    unknown = {Gender.NOT_KNOWN, Gender.NOT_SPECIFIED}
    if query.gender == learner.details.gender:
        return "exact"
    return "unknown" if query.gender in unknown or learner.details.gender in unknown else "differs"


def _postcode_level(query: Demographics, learner: Learner) -> str:
    ours, theirs = postcode_key(query.last_known_postcode), postcode_key(learner.details.last_known_postcode)
    if ours == theirs:
        return "exact"
    if ours[:-2] == theirs[:-2]:
        return "sector"
    if ours[:-3] == theirs[:-3]:
        return "district"
    return "area" if _area(ours) == _area(theirs) else "differs"


def _area(postcode_compact: str) -> str:
    """The postcode area: the leading letters ("SW1A1AA" -> "SW", "M11AE" -> "M")."""
    letters = ""
    for c in postcode_compact:
        if not c.isalpha():
            break
        letters += c
    return letters


def _levels(query: Demographics, learner: Learner) -> dict[str, str]:
    levels = {
        "given_name": _name_level(query.given_name, learner.details.given_name, given=True),
        "family_name": _family_level(query, learner),
        "date_of_birth": _dob_level(query, learner),
        "gender": _gender_level(query, learner),
        "last_known_postcode": _postcode_level(query, learner),
    }
    if levels["given_name"] == "differs" and levels["family_name"] == "differs":
        # Given and family names entered the wrong way round.
        crossed = (
            _name_level(query.given_name, learner.details.family_name, given=False),
            _name_level(query.family_name, learner.details.given_name, given=True),
        )
        if "differs" not in crossed:
            levels["given_name"] = levels["family_name"] = "swapped"
    return levels


def score_learner(
    query: Demographics, learner: Learner, frequencies: NameFrequencies = NO_FREQUENCIES
) -> ScoredLearner:
    """Compare `learner` with `query`, field by field, and explain the result."""
    levels = _levels(query, learner)
    score = sum(_WEIGHTS[f][level] for f, level in levels.items())
    # Agreeing on a rare name is stronger evidence than agreeing on a common one. The shares
    # are the whole register's: among the few households of one full postcode a common name is
    # no commoner than another, so there it costs nothing (a rare one still counts for more).
    # Without this, a Grace Singh at her own postcode with a wholly wrong date of birth scored
    # below possible and was issued a second ULN (issue 13).
    same_postcode = levels["last_known_postcode"] == "exact"
    if levels["given_name"] in ("exact", "nickname"):
        score += _name_weight(frequencies.weight("given", learner.details.given_name), same_postcode)
    if levels["family_name"] in ("exact", "previous"):
        score += _name_weight(frequencies.weight("family", learner.details.family_name), same_postcode)
    # "previous" is exact agreement for the learner's identity: they changed their name.
    differing = tuple(f for f, level in levels.items() if level not in ("exact", "previous"))
    return ScoredLearner(learner, score, differing, levels)


def _name_weight(adjustment: float, same_postcode: bool) -> float:
    return max(adjustment, 0.0) if same_postcode else adjustment


def match_learner(
    query: Demographics, candidates: Iterable[Learner], frequencies: NameFrequencies = NO_FREQUENCIES
) -> MatchResult:
    """Match `query` against the candidates the register retrieved for its blocking keys."""
    scored = sorted(
        (s for s in (score_learner(query, c, frequencies) for c in candidates) if s.score >= POSSIBLE_SCORE),
        key=lambda s: (-s.score, s.learner.uln),
    )
    exact = [s for s in scored if not s.differing_fields]
    if len(exact) == 1:
        return MatchResult(MatchOutcome.EXACT, (exact[0],))
    if len(exact) > 1:
        return MatchResult(MatchOutcome.AMBIGUOUS, tuple(exact[:MAX_CANDIDATES]))
    if len(scored) > MAX_CANDIDATES:
        return MatchResult(MatchOutcome.TOO_MANY)
    if scored:
        return MatchResult(MatchOutcome.POSSIBLE, tuple(scored))
    return MatchResult(MatchOutcome.NONE)

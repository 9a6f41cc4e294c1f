"""Matching: decide which registered learners a set of demographics describes.

This is the one function matching grows behind (`match_learner`). The rules here are the
foundation's: exact agreement on the five normalised mandatory fields, never an exact match
when two learners agree (ambiguity becomes candidates), and near misses as possible matches.
The cardinal sin is an exact match to the wrong person, so "exact" demands all five.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from contracts.learner import Demographics
from hub.model import Learner, MatchKeys
from hub.normalise import name_key

MAX_CANDIDATES = 10  # LRS: more than 10 possible matches is "too many"
# Fields compared, in the order the LRS lists them, mapped to their MatchKeys attribute.
_FIELDS = {
    "given_name": "given",
    "family_name": "family",
    "date_of_birth": "date_of_birth",
    "gender": "gender",
    "last_known_postcode": "postcode",
}
_POSSIBLE_MIN_AGREEING = 3  # of the five, with the date of birth among them


class MatchOutcome(StrEnum):
    EXACT = "exact"
    AMBIGUOUS = "ambiguous"  # several learners agree on all five fields
    POSSIBLE = "possible"
    TOO_MANY = "too_many"
    NONE = "none"


@dataclass(frozen=True)
class ScoredLearner:
    """A candidate with how many of the five fields agreed and which differed."""

    learner: Learner
    score: int
    differing_fields: tuple[str, ...]


@dataclass(frozen=True)
class MatchResult:
    outcome: MatchOutcome
    matches: tuple[ScoredLearner, ...] = ()


def query_keys(query: Demographics) -> MatchKeys:
    """Normalise a query's five mandatory fields into the keys the register is indexed on."""
    return MatchKeys.of(
        query.given_name, query.family_name, query.date_of_birth, query.gender, query.last_known_postcode
    )


def _score(query: Demographics, keys: MatchKeys, learner: Learner) -> ScoredLearner:
    theirs = learner.keys
    differing = [f for f, attr in _FIELDS.items() if getattr(keys, attr) != getattr(theirs, attr)]
    if "family_name" in differing and _previous_family_name_agrees(query, learner):
        differing.remove("family_name")
    return ScoredLearner(learner, len(_FIELDS) - len(differing), tuple(differing))


def _previous_family_name_agrees(query: Demographics, learner: Learner) -> bool:
    """A learner who changed family name still matches on the name they had before."""
    ours = {name_key(query.family_name)}
    if query.previous_family_name:
        ours.add(name_key(query.previous_family_name))
    theirs = {name_key(learner.details.family_name)}
    if learner.details.previous_family_name:
        theirs.add(name_key(learner.details.previous_family_name))
    return bool(ours & theirs)


def _possible(scored: ScoredLearner) -> bool:
    agreeing_dob = "date_of_birth" not in scored.differing_fields
    return scored.score >= _POSSIBLE_MIN_AGREEING + (0 if agreeing_dob else 1)


def match_learner(query: Demographics, candidates: Iterable[Learner]) -> MatchResult:
    """Match `query` against the candidates the register retrieved for its keys."""
    keys = query_keys(query)
    scored = sorted(
        (s for s in (_score(query, keys, c) for c in candidates) if _possible(s)),
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

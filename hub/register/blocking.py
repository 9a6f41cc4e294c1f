"""Blocking keys: which registered learners a search even looks at.

A learner is indexed under several keys and a search looks up several; the candidates are
the learners sharing any key. The keys pair a date of birth (or year) with one phonetic name
or the postcode district, and both names with the year or with the postcode district, so that
any one of the five mandatory fields wholly wrong (a changed name, a date of birth replaced, a
move, the other gender) or a slip in it still leaves at least one key that finds the right
learner. A name's phonetic code is taken of the whole name with its spaces and hyphens removed
as well as of each part, so "Ever ett" and "La-ndau" find "Everett" and "Landau".

BLOCK_KEYS_VERSION names this set of keys: rows indexed under an older set are re-keyed by
`hub learners reindex` (the register's adapter records each row's version).
"""

import re
from datetime import date
from functools import lru_cache

import jellyfish

from contracts.learner import Demographics
from hub.kernel.model import Learner
from hub.register.normalise import name_key, postcode_key

_PARTS = re.compile(r"[\s\-]+")
BLOCK_KEYS_VERSION = 2  # 2: both names with the postcode district ("np") added (issue 13)


@lru_cache(maxsize=1 << 18)
def phonetic(name: str) -> str:
    """A sound-alike code for one name part (metaphone); other scripts keep their letters."""
    key = name_key(name)
    return jellyfish.metaphone(key) if key.isascii() else key


@lru_cache(maxsize=1 << 18)
def name_parts(name: str | None) -> frozenset[str]:
    """The phonetic codes of a name and of each of its parts: "Smith-Jones" -> {SM0JNS, SM0, JNS}."""
    if not name:
        return frozenset()
    parts = {phonetic(p) for p in _PARTS.split(name) if name_key(p)}
    whole = phonetic(name)
    return frozenset(p for p in parts | {whole} if p)


def postcode_district(postcode: str) -> str:
    """The outward code: "SW1A 1AA" -> "SW1A"."""
    return postcode_key(postcode)[:-3]


def swapped_day_month(born: date) -> date | None:
    """The date with day and month exchanged, when that is another valid date."""
    if born.day > 12 or born.day == born.month:
        return None
    return born.replace(month=born.day, day=born.month)


def _keys(
    dobs: set[date], families: frozenset[str], givens: frozenset[str], district: str, years: set[int]
) -> set[str]:
    keys = {f"dp:{d}:{district}" for d in dobs}
    keys |= {f"df:{d}:{f}" for d in dobs for f in families}
    keys |= {f"dg:{d}:{g}" for d in dobs for g in givens}
    # Both names with the year: finds a learner whose date of birth was mistyped.
    keys |= {f"ny:{y}:{f}:{g}" for y in years for f in families for g in givens}
    # Both names with the postcode district: finds a learner whose date of birth is wholly wrong
    # (year and month or day replaced), the one field every other key depends on.
    keys |= {f"np:{district}:{f}:{g}" for f in families for g in givens}
    return keys


def learner_block_keys(learner: Learner) -> set[str]:
    """The keys the register indexes `learner` under."""
    return details_block_keys(learner.details)


def details_block_keys(d: Demographics) -> set[str]:
    """The keys the register indexes a learner with demographics `d` under."""
    families = name_parts(d.family_name) | name_parts(d.previous_family_name)
    district = postcode_district(d.last_known_postcode)
    return _keys({d.date_of_birth}, families, name_parts(d.given_name), district, {d.date_of_birth.year})


def query_block_keys(query: Demographics) -> set[str]:
    """The keys a search looks up: the query's own, and those of its likely slips."""
    dobs = {query.date_of_birth}
    swapped = swapped_day_month(query.date_of_birth)
    if swapped:
        dobs.add(swapped)
    families = name_parts(query.family_name) | name_parts(query.previous_family_name)
    givens = name_parts(query.given_name)
    district = postcode_district(query.last_known_postcode)
    # A year of birth off by one is a common slip too.
    years = {query.date_of_birth.year + delta for delta in (-1, 0, 1)}
    # Given and family names entered the wrong way round.
    return _keys(dobs, families, givens, district, years) | _keys(dobs, givens, families, district, years)

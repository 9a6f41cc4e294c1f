"""How common each name is in the register, so agreement on a common name counts for less.

Two learners both called Smith share far less evidence than two both called Quarrington.
`weight` turns a name's share of the register into an adjustment of its agreement weight:
-1 for the commonest names (1% or more), 0 around 1 in 3,000, +1 for names rarer than 1 in
100,000; unknown names count as rare. Exact matches still need all five fields to agree;
this moves only possible matches, and so which near misses are offered.
"""

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from hub.register.normalise import name_key

_COMMON_SHARE, _RARE_SHARE = 1e-2, 1e-5  # at and beyond these the adjustment is -1 and +1


@dataclass(frozen=True)
class NameFrequencies:
    """Counts of normalised given and family names over `learners` registered learners."""

    given: dict[str, int] = field(default_factory=dict)
    family: dict[str, int] = field(default_factory=dict)
    learners: int = 0

    def weight(self, kind: str, name: str) -> float:
        """The adjustment, in [-1, 1], to the weight of agreeing on `name` ("given" or "family")."""
        if not self.learners:
            return 0.0
        counts = self.given if kind == "given" else self.family
        share = max(counts.get(name_key(name), 0), 1) / self.learners
        span = math.log10(_COMMON_SHARE / _RARE_SHARE)
        position = math.log10(_COMMON_SHARE / max(share, _RARE_SHARE)) / span  # 0 common .. 1 rare
        return round(min(1.0, max(0.0, position)) * 2 - 1, 3)

    @classmethod
    def of_names(cls, names: Iterable[tuple[str, str, int]]) -> "NameFrequencies":
        """Build from (given name, family name, count) rows, normalising as matching does."""
        given: Counter[str] = Counter()
        family: Counter[str] = Counter()
        learners = 0
        for given_name, family_name, count in names:
            given[name_key(given_name)] += count
            family[name_key(family_name)] += count
            learners += count
        return cls(dict(given), dict(family), learners)


NO_FREQUENCIES = NameFrequencies()

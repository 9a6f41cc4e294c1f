"""Normalised forms of demographics, so matching ignores case, accents, spacing and punctuation."""

import unicodedata
from functools import lru_cache

# Letters NFKD does not decompose into a base letter and an accent.
_FOLD = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "đ": "d", "œ": "oe", "þ": "th", "ð": "d", "ı": "i"})


@lru_cache(maxsize=1 << 18)  # matching asks about the same few names many times per search
def name_key(name: str) -> str:
    """Reduce a name to its lower-case letters without accents or punctuation.

    "O'Brien-Smyth" -> "obriensmyth", "Zoë" -> "zoe", "Łukasz" -> "lukasz". Letters of other
    scripts are kept (casefolded), never dropped: two different Cyrillic names must not
    both reduce to "" and agree.
    """
    decomposed = unicodedata.normalize("NFKD", name.casefold().translate(_FOLD))
    return "".join(c for c in decomposed if c.isalpha() and not unicodedata.combining(c))


def postcode_key(postcode: str) -> str:
    """Upper-case a postcode and drop its spaces: "sw1a 1aa" -> "SW1A1AA"."""
    return "".join(postcode.split()).upper()

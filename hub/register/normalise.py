"""Normalised forms of demographics, so matching ignores case, accents, spacing and punctuation."""

import unicodedata
from functools import lru_cache
from typing import Any

from confusable_homoglyphs import categories, confusables

# Letters NFKD does not decompose into a base letter and an accent.
_FOLD = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "đ": "d", "œ": "oe", "þ": "th", "ð": "d", "ı": "i"})


@lru_cache(maxsize=1 << 18)  # matching asks about the same few names many times per search
def name_key(name: str) -> str:
    """Reduce a name to its lower-case letters without accents or punctuation.

    "O'Brien-Smyth" -> "obriensmyth", "Zoë" -> "zoe", "Łukasz" -> "lukasz". Letters of other
    scripts are kept (casefolded), never dropped: two different Cyrillic names must not
    both reduce to "" and agree.
    """
    name = unicodedata.normalize("NFKC", name)  # fullwidth, ligatures, compatibility forms
    if not name.isascii():
        name = _latin_look_alikes(name)
    decomposed = unicodedata.normalize("NFKD", name.casefold().translate(_FOLD))
    return "".join(c for c in decomposed if c.isalpha() and not unicodedata.combining(c))


@lru_cache(maxsize=4096)
def _ascii_twin(letter: str) -> str | None:
    """The ASCII letter `letter` imitates (a Latin twin of its own, like "ʍ", is no help), or None.

    The confusables table lists capitals for some letters only (Cyrillic "М", not "м"), so a
    small letter is looked up as its capital too.
    """
    for form, fold in ((letter, str), (letter.upper(), str.lower)):
        found: list[dict[str, Any]] = confusables.is_confusable(form, preferred_aliases=["latin"]) or []
        for f in found:
            for h in f["homoglyphs"]:
                if len(h["c"]) == 1 and h["c"].isascii() and h["c"].isalpha():
                    return fold(h["c"])
    return None


def _latin_look_alikes(name: str) -> str:
    """Write the Cyrillic or Greek look-alikes in a name as the Latin letters they imitate.

    Only where it is safe (Unicode TR39's idea of a skeleton, narrowed): in a name that mixes
    Latin with another script ("Аmelia" with a Cyrillic А), or in a name of another script
    whose every letter has a Latin look-alike ("Оlgа" all Cyrillic). A real Cyrillic name such
    as "Сергей" has letters with no Latin twin and is left as it is.
    """
    letters = [c for c in name if c.isalpha()]
    if not letters:
        return name
    twins = {c: t for c in set(letters) if (t := _ascii_twin(c))}
    mixed = "LATIN" in categories.unique_aliases(name) and len(categories.unique_aliases(name)) > 1
    whole = all(c in twins or c.isascii() for c in letters)
    return "".join(twins.get(c, c) for c in name) if mixed or whole else name


def postcode_key(postcode: str) -> str:
    """Upper-case a postcode and drop its spaces: "sw1a 1aa" -> "SW1A1AA"."""
    return "".join(postcode.split()).upper()

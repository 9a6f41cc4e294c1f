"""Normalised forms of demographics, so matching ignores case, accents, spacing and punctuation."""

import unicodedata


def name_key(name: str) -> str:
    """Reduce a name to lower-case ASCII letters: "O'Brien-Smyth" -> "obriensmyth", "Zoë" -> "zoe"."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed.casefold() if c.isascii() and c.isalpha())


def postcode_key(postcode: str) -> str:
    """Upper-case a postcode and drop its spaces: "sw1a 1aa" -> "SW1A1AA"."""
    return "".join(postcode.split()).upper()

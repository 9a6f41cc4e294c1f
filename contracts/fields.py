"""Constrained field types shared by the contracts, with the LRS lengths and patterns."""

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from contracts.codes import AbilityToShare, Gender, VerificationType

# Free text must not smuggle control characters into files and logs downstream.
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"

Uln = Annotated[
    str,
    Field(description="Unique Learner Number: 10 digits, first not 0 (check digit checked by the hub)"),
    StringConstraints(pattern=r"^[1-9][0-9]{9}$"),
]
OrgId = Annotated[
    str,
    Field(description="UKPRN (8 digits) or awarding organisation id (6 digits)"),
    StringConstraints(pattern=r"^[0-9]{6,8}$"),
]


def _a_name(value: str) -> str:
    # A name holds a letter ("." and "--" are not names, and two of them must never agree), and
    # no invisible format character: bidirectional controls and zero-width characters make one
    # name look like another. (Checked here rather than as a pattern: JSON Schema's regexes
    # cannot say "a letter of any script" portably, and the published pattern stays as it was.)
    if value and not any(c.isalpha() for c in value):
        raise ValueError("a name must contain at least one letter")
    if any(unicodedata.category(c) == "Cf" for c in value):
        raise ValueError("a name must not contain invisible format characters (bidirectional or zero-width)")
    return value


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=35, pattern=_PRINTABLE),
    AfterValidator(_a_name),
]
OptionalName = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=35, pattern=_PRINTABLE), AfterValidator(_a_name)
]
Text254 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=_PRINTABLE)]
Text255 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255, pattern=_PRINTABLE)]
Notes = Annotated[str, StringConstraints(max_length=4000)]
MisIdentifier = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=_PRINTABLE)
]


def _postcode_display(value: str) -> str:
    # "sw1a1aa" -> "SW1A 1AA": the inward code is always the last three characters.
    compact = "".join(value.split()).upper()
    return f"{compact[:-3]} {compact[-3:]}"


# UK postcode, any case, with or without the space; kept upper-case with one space.
Postcode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=9,
        pattern=r"^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}$",
    ),
    AfterValidator(_postcode_display),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Nationality = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
ScottishCandidateNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")]
BatchId = Annotated[str, StringConstraints(pattern=r"^LRB_[0-9]{8}_[0-9]{12}$")]


def _not_a_bool(value: object) -> object:
    # JSON true equals 1 in Python, and 1.0 passes pydantic's strict enum check, so an enum
    # lookup would read either as a code: refuse both.
    if isinstance(value, bool):
        raise ValueError("a code is a number, not true/false")
    if isinstance(value, float):
        raise ValueError("a code is a whole number, not a decimal")
    return value


GenderCode = Annotated[Gender, BeforeValidator(_not_a_bool)]
AbilityToShareCode = Annotated[AbilityToShare, BeforeValidator(_not_a_bool)]
VerificationTypeCode = Annotated[VerificationType, BeforeValidator(_not_a_bool)]

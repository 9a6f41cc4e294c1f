"""Grade scales of the qualification types whose scale is known, and the PLR's date range.

A grade outside its type's scale is refused; a type not listed here (there are hundreds of
vocational ones) takes any grade. Types are compared case-insensitively, ignoring spaces
and punctuation ("GCE A-Level" is "GCE A Level").
"""

import re
from datetime import date

# Records in the PLR date from the 2007/08 academic year (DOMAIN.md).
PLR_START = date(2007, 8, 1)

_GCSE = {"9", "8", "7", "6", "5", "4", "3", "2", "1", "U", "X"} | {"A*", "A", "B", "C", "D", "E", "F", "G"}
_A_LEVEL = {"A*", "A", "B", "C", "D", "E", "U", "X"}
_AS_LEVEL = {"A", "B", "C", "D", "E", "U", "X"}
_BTEC_SINGLE = {"D*", "D", "M", "P", "U", "Distinction*", "Distinction", "Merit", "Pass", "Unclassified"}
_PASS_FAIL = {"Pass", "Fail"}
# Combined science (double award): 9-9, 9-8, 8-8, ... 1-1, written with or without the hyphen.
_DOUBLE_AWARD = {f"{a}{sep}{b}" for a in range(1, 10) for b in (a, a - 1) if b >= 1 for sep in ("-", "")} | {"U", "X"}

SCALES: dict[str, frozenset[str]] = {
    "gcse": frozenset(_GCSE),
    "gcsedoubleaward": frozenset(_DOUBLE_AWARD),
    "gcealevel": frozenset(_A_LEVEL),
    "alevel": frozenset(_A_LEVEL),
    "gceaslevel": frozenset(_AS_LEVEL),
    "aslevel": frozenset(_AS_LEVEL),
    "btecnational": frozenset(_BTEC_SINGLE),
    "btecfirst": frozenset(_BTEC_SINGLE),
    "functionalskills": frozenset(_PASS_FAIL),
}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.casefold())


def grade_outside_scale(qualification_type: str, grade: str) -> str | None:
    """Why `grade` is not a grade of `qualification_type`, or None (in scale, or scale unknown)."""
    scale = SCALES.get(_key(qualification_type))
    if scale is None or grade.casefold() in {g.casefold() for g in scale}:
        return None
    shown = ", ".join(sorted(scale))
    return f"grade {grade!r} is not on the {qualification_type} scale ({shown})"


def date_out_of_range(name: str, value: date, today: date) -> str | None:
    """Why a learning event's date cannot be right, or None."""
    if value > today:
        return f"{name} {value.isoformat()} is in the future"
    if value < PLR_START:
        return f"{name} {value.isoformat()} is before the PLR starts (2007/08, {PLR_START.isoformat()})"
    return None

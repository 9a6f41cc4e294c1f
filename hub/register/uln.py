"""ULN rules: the DfE check digit (rule DD01) and issuing new numbers.

Weights 10..2 over the first nine digits; r = sum mod 11; r = 0 is invalid, otherwise the
tenth digit must be 10 - r.
"""

from dataclasses import dataclass

TEMPORARY_ULN = "9999999999"  # "no ULN" in ILR data: never issued, never a learner
_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
# Issued ULNs come from a database sequence n = 1, 2, 3, ... scrambled by a bijection of the
# nine-digit space, so consecutive registrations do not get guessable neighbouring numbers.
_BASE_SPACE = 900_000_000  # nine-digit bases 100000000..999999999: the first digit is never 0
_SCRAMBLE = 282_475_249  # 7**10, coprime with the space, so n -> base never repeats


@dataclass(frozen=True)
class UlnCheck:
    """The verdict on a candidate ULN: valid, or the reason it is not."""

    valid: bool
    reason: str = ""


def _check_digit(first_nine: str) -> int | None:
    remainder = sum(int(d) * w for d, w in zip(first_nine, _WEIGHTS, strict=True)) % 11
    return None if remainder == 0 else 10 - remainder


def check_uln(uln: str) -> UlnCheck:
    """Say whether `uln` is a valid ULN, and if not, why."""
    if len(uln) != 10 or not uln.isascii() or not uln.isdigit():
        return UlnCheck(False, "a ULN is exactly 10 digits")
    if uln[0] == "0":
        return UlnCheck(False, "a ULN does not start with 0")
    if uln == TEMPORARY_ULN:
        return UlnCheck(False, "9999999999 is the temporary ULN, not a learner's")
    expected = _check_digit(uln[:9])
    if expected is None:
        return UlnCheck(False, "the first nine digits give remainder 0: no check digit can be valid")
    if int(uln[9]) != expected:
        return UlnCheck(False, f"check digit should be {expected}, not {uln[9]}")
    return UlnCheck(True)


def is_valid_uln(uln: str) -> bool:
    """Say whether `uln` passes the check digit rule."""
    return check_uln(uln).valid


def uln_for_issue_number(n: int) -> str | None:
    """Turn the n-th issue number into a ULN, or None when that base can carry no check digit.

    The caller takes the next number on None; about 1 base in 11 is skipped (remainder 0) and
    the temporary ULN is never produced.
    """
    if n < 1 or n > _BASE_SPACE:
        raise ValueError(f"issue number {n} is outside 1..{_BASE_SPACE}")
    base = str(100_000_000 + (n * _SCRAMBLE) % _BASE_SPACE)
    digit = _check_digit(base)
    if digit is None:
        return None
    uln = base + str(digit)
    return None if uln == TEMPORARY_ULN else uln

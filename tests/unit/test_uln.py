"""ULN check digit (DfE rule DD01) and issuing ULNs from issue numbers."""

import math

import pytest

from hub.register import uln as uln_module
from hub.register.uln import TEMPORARY_ULN, UlnCheck, check_uln, uln_for_issue_number

DOMAIN_VALID_EXAMPLES = [
    "9276308686",
    "1000000043",
    "1026893096",
    "1174112637",
    "1026922983",
    "1964986809",
    "8383558804",
    "6936002314",
    "4444599390",
]


@pytest.mark.parametrize("uln", DOMAIN_VALID_EXAMPLES)
def test_valid_examples_pass(uln: str) -> None:
    """Every valid ULN listed in DOMAIN.md passes the check."""
    assert check_uln(uln) == UlnCheck(True)


@pytest.mark.parametrize(
    ("uln", "reason"),
    [
        ("1000000063", "the first nine digits give remainder 0: no check digit can be valid"),
        ("1234567890", "check digit should be 9, not 0"),
        ("1111111111", "check digit should be 0, not 1"),
        ("9999999999", "9999999999 is the temporary ULN, not a learner's"),
        ("0123456789", "a ULN does not start with 0"),
        ("12345abcde", "a ULN is exactly 10 digits"),
        ("١٢٣٤٥٦٧٨٩٠", "a ULN is exactly 10 digits"),  # Arabic-Indic digits are digits, not ASCII ones
        ("123456789", "a ULN is exactly 10 digits"),
        ("92763086860", "a ULN is exactly 10 digits"),
        ("", "a ULN is exactly 10 digits"),
    ],
)
def test_invalid_ulns_fail_with_their_reason(uln: str, reason: str) -> None:
    """An invalid ULN fails the check with the reason that applies to it."""
    assert check_uln(uln) == UlnCheck(False, reason)


def test_first_200000_issue_numbers_give_distinct_valid_ulns() -> None:
    """Issue numbers 1..200,000 yield only valid ULNs, never the temporary one, never one twice."""
    issued = [u for n in range(1, 200_001) if (u := uln_for_issue_number(n)) is not None]
    assert [u for u in issued if not check_uln(u).valid] == []
    assert TEMPORARY_ULN not in issued
    assert len(set(issued)) == len(issued)


def test_about_one_issue_number_in_eleven_is_skipped() -> None:
    """Bases that can carry no check digit give None, roughly one in eleven."""
    skipped = sum(uln_for_issue_number(n) is None for n in range(1, 11_001))
    assert 900 <= skipped <= 1_100


@pytest.mark.parametrize("n", [0, -1, 900_000_001])
def test_issue_number_outside_the_space_is_refused(n: int) -> None:
    """An issue number outside 1..900,000,000 raises ValueError rather than wrapping round."""
    with pytest.raises(ValueError, match="outside"):
        uln_for_issue_number(n)


def test_issue_numbers_map_one_to_one_onto_the_whole_space() -> None:
    """The scramble multiplier is coprime with the nine-digit space, so no ULN repeats in all 900 million."""
    assert math.gcd(uln_module._SCRAMBLE, uln_module._BASE_SPACE) == 1

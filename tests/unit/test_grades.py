"""Grade scales and the PLR's date range (hub.records.grades), as tables."""

from datetime import date

import pytest

from hub.records.grades import PLR_START, date_out_of_range, grade_outside_scale

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("qualification_type", "grade"),
    [
        ("GCSE", "9"),
        ("GCSE", "1"),
        ("GCSE", "U"),
        ("GCSE", "X"),
        ("GCSE", "A*"),
        ("GCSE", "G"),
        ("GCSE", "a*"),  # letter grades in either case
        ("GCSE", "c"),
        ("GCSE Double Award", "9-9"),
        ("GCSE Double Award", "9-8"),
        ("GCSE Double Award", "98"),  # without the hyphen
        ("GCSE Double Award", "1-1"),
        ("GCSE Double Award", "U"),
        ("GCE A Level", "A*"),
        ("GCE A Level", "E"),
        ("GCE A Level", "U"),
        ("A Level", "B"),
        ("GCE AS Level", "A"),
        ("AS Level", "E"),
        ("BTEC National", "D*"),
        ("BTEC National", "Distinction*"),
        ("BTEC First", "Merit"),
        ("BTEC First", "P"),
        ("Functional Skills", "Pass"),
        ("Functional Skills", "Fail"),
        ("Functional Skills", "pass"),  # word grades in any case too
        ("BTEC National", "distinction*"),
    ],
)
def test_grade_on_its_scale_is_accepted(qualification_type: str, grade: str) -> None:
    """A grade on its qualification type's scale gives no reason to refuse it."""
    assert grade_outside_scale(qualification_type, grade) is None


@pytest.mark.parametrize(
    ("qualification_type", "grade"),
    [
        ("GCSE", "H"),
        ("GCSE", "0"),
        ("GCSE", "10"),
        ("GCSE", "A**"),
        ("GCSE", "Pass"),
        ("GCSE Double Award", "9-7"),  # the two grades are at most one apart
        ("GCSE Double Award", "8-9"),  # the higher grade comes first
        ("GCSE Double Award", "0-0"),
        ("GCSE Double Award", "9"),
        ("GCE A Level", "9"),
        ("GCE A Level", "F"),
        ("GCE AS Level", "A*"),  # there is no A* at AS
        ("BTEC National", "A"),
        ("BTEC National", "Distinction**"),
        ("Functional Skills", "Merit"),
    ],
)
def test_grade_off_its_scale_is_refused(qualification_type: str, grade: str) -> None:
    """A grade not on its qualification type's scale is refused with a reason naming the grade and the type."""
    why = grade_outside_scale(qualification_type, grade)
    assert why is not None and why.startswith(f"grade {grade!r} is not on the {qualification_type} scale (")


def test_refusal_lists_the_scale() -> None:
    """The reason lists the scale's grades in order, so the sender can see what was expected."""
    assert (
        grade_outside_scale("GCE AS Level", "A*") == "grade 'A*' is not on the GCE AS Level scale (A, B, C, D, E, U, X)"
    )


@pytest.mark.parametrize(
    "qualification_type", ["GCE A Level", "GCE A-Level", "gce a level", "G.C.E. A LEVEL", " GCE  A Level "]
)
def test_qualification_type_ignores_case_spaces_and_punctuation(qualification_type: str) -> None:
    """'GCE A-Level' and 'gce a level' are the A level scale: A* passes, 9 does not."""
    assert grade_outside_scale(qualification_type, "A*") is None
    assert grade_outside_scale(qualification_type, "9") is not None


@pytest.mark.parametrize(
    ("qualification_type", "grade"),
    [("NVQ", "Competent"), ("Award in Floristry", "10"), ("Cambridge Technical", "Distinction**"), ("BTEC", "A")],
)
def test_qualification_type_without_a_known_scale_takes_any_grade(qualification_type: str, grade: str) -> None:
    """A type the hub has no scale for (there are hundreds) takes whatever grade is sent."""
    assert grade_outside_scale(qualification_type, grade) is None


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (TODAY, None),
        (date(2026, 11, 30), "award_date 2026-11-30 is in the future"),
        (date(2030, 1, 1), "award_date 2030-01-01 is in the future"),
        (date(2007, 8, 1), None),
        (date(2007, 7, 31), "award_date 2007-07-31 is before the PLR starts (2007/08, 2007-08-01)"),
        (date(1990, 6, 1), "award_date 1990-06-01 is before the PLR starts (2007/08, 2007-08-01)"),
    ],
)
def test_dates_must_fall_between_the_plr_start_and_today(value: date, why: str | None) -> None:
    """Records date from 1 August 2007 (the 2007/08 year) up to and including today."""
    assert date_out_of_range("award_date", value, TODAY) == why


def test_plr_starts_with_the_2007_08_academic_year() -> None:
    """The PLR's first day is 1 August 2007, as DOMAIN.md says."""
    assert PLR_START == date(2007, 8, 1)


def test_reason_names_the_field() -> None:
    """The reason names the field it is about, so one check serves start and end dates alike."""
    assert date_out_of_range("start_date", date(2027, 1, 1), TODAY) == "start_date 2027-01-01 is in the future"

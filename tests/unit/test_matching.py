"""Matching: exact, ambiguous, possible, too many, none."""

from datetime import date

import pytest

from contracts.learner import Demographics
from hub.kernel.model import Learner
from hub.register.frequencies import NameFrequencies
from hub.register.matching import MatchOutcome, MatchResult, ScoredLearner, match_learner, score_learner

from .builders import details, learner


def query(**overrides: object) -> Demographics:
    """Amelia Okafor's five mandatory demographics, with any field overridden."""
    mandatory = details().model_dump(include=set(Demographics.model_fields), exclude_none=True)
    return Demographics.model_validate(mandatory | overrides)


def exact(one: Learner) -> MatchResult:
    return MatchResult(MatchOutcome.EXACT, (ScoredLearner(one, 5, ()),))


def test_identical_demographics_are_an_exact_match() -> None:
    """A query agreeing on all five fields with one learner matches that learner exactly."""
    amelia = learner()
    assert match_learner(query(), [amelia]) == exact(amelia)


def test_postcode_case_and_spacing_are_ignored() -> None:
    """A postcode typed in lower case without its space still matches exactly."""
    amelia = learner()
    assert match_learner(query(last_known_postcode="sw1a1aa"), [amelia]) == exact(amelia)


@pytest.mark.parametrize(
    ("registered", "asked"),
    [
        (("Zoë", "O'Brien-Smyth"), ("Zoe", "OBrien Smyth")),
        (("José", "Núñez"), ("JOSE", "nunez")),
        (("Mary-Jane", "D'Arcy"), ("Mary Jane", "Darcy")),
    ],
)
def test_accents_apostrophes_hyphens_and_case_in_names_are_ignored(
    registered: tuple[str, str], asked: tuple[str, str]
) -> None:
    """Names differing only in accents, apostrophes, hyphens, spaces or case still match exactly."""
    someone = learner(given_name=registered[0], family_name=registered[1])
    assert match_learner(query(given_name=asked[0], family_name=asked[1]), [someone]) == exact(someone)


@pytest.mark.parametrize(
    ("given", "family"),
    [
        ("\u0410melia", "Okafor"),  # a Cyrillic capital A
        ("Amelia", "\u041ekaf\u043er"),  # Cyrillic O and o
        ("\u0430m\u0435li\u0430", "Okafor"),  # Cyrillic a, e, a
        ("\uff21melia", "Okafor"),  # a fullwidth A
        ("Amel\u0456a", "\u039fkafor"),  # a Ukrainian i, a Greek capital omicron
    ],
)
def test_look_alike_letters_of_other_scripts_match_the_latin_name(given: str, family: str) -> None:
    """A name written with homoglyphs (Cyrillic or Greek look-alikes, fullwidth forms) is the
    Latin name it imitates, so it finds that learner rather than being registered beside her."""
    amelia = learner()
    assert match_learner(query(given_name=given, family_name=family), [amelia]) == exact(amelia)


def test_a_name_wholly_of_another_script_is_not_folded_into_latin() -> None:
    """A real Cyrillic name (with letters that have no Latin twin) keeps its own letters."""
    sergei = learner(given_name="\u0421\u0435\u0440\u0433\u0435\u0439")  # Сергей
    assert match_learner(query(given_name="Sergei"), [sergei]).outcome != MatchOutcome.EXACT


def test_names_with_no_letters_never_agree() -> None:
    """Names holding no letter (stored before the contract refused them) never match each other exactly."""
    punctuation = details().model_dump() | {"given_name": "-", "family_name": "'"}
    nobody = Learner(uln=learner().uln, details=details().model_construct(**punctuation))
    asked = query().model_construct(**(query().model_dump() | {"given_name": ". ", "family_name": "--"}))
    assert match_learner(asked, [nobody]).outcome != MatchOutcome.EXACT


def test_a_twin_is_only_a_possible_match_for_the_other() -> None:
    """Asking for one twin when only the other is registered gives a possible match, never exact."""
    amelia = learner()
    result = match_learner(query(given_name="Adaeze"), [amelia])
    assert result == MatchResult(MatchOutcome.POSSIBLE, (ScoredLearner(amelia, 4, ("given_name",)),))


def test_each_twin_matches_only_themselves_exactly() -> None:
    """With both twins registered, each twin's demographics match that twin exactly."""
    amelia, adaeze = learner(), learner(given_name="Adaeze")
    assert match_learner(query(), [amelia, adaeze]) == exact(amelia)
    assert match_learner(query(given_name="Adaeze"), [amelia, adaeze]) == exact(adaeze)


def test_previous_family_name_finds_the_learner_under_their_old_name() -> None:
    """A learner now called Smith, asked for with previous family name Okafor, matches their Okafor record."""
    amelia = learner()
    assert match_learner(query(family_name="Smith", previous_family_name="Okafor"), [amelia]) == exact(amelia)


def test_recorded_previous_family_name_matches_a_query_under_the_old_name() -> None:
    """A learner registered as Smith (previously Okafor) matches a query for Okafor."""
    amelia = learner(family_name="Smith", previous_family_name="Okafor")
    assert match_learner(query(), [amelia]) == exact(amelia)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("given_name", "Amara"),
        ("family_name", "Okoro"),
        ("date_of_birth", date(2008, 4, 13)),
        ("gender", 1),
        ("last_known_postcode", "SW1A 2AA"),
    ],
)
def test_one_field_different_is_a_possible_match_naming_it(field: str, value: object) -> None:
    """A learner differing in exactly one of the five fields is a possible match listing that field."""
    amelia = learner()
    result = match_learner(query(**{field: value}), [amelia])
    assert result == MatchResult(MatchOutcome.POSSIBLE, (ScoredLearner(amelia, 4, (field,)),))


def test_two_learners_identical_on_all_five_are_ambiguous() -> None:
    """Two learners agreeing with the query on all five fields are ambiguous, never an exact match."""
    first, second = sorted([learner(), learner()], key=lambda s: s.uln)
    result = match_learner(query(), [second, first])
    assert result == MatchResult(MatchOutcome.AMBIGUOUS, (ScoredLearner(first, 5, ()), ScoredLearner(second, 5, ())))


def test_ten_possible_matches_are_listed_best_first() -> None:
    """Ten possible matches are all returned, higher scores first, then by ULN."""
    one_off = [learner(given_name=name) for name in "Ada Ama Ana Ava Aya Bea Cara Dara Eva".split()]
    moved = learner(given_name="Thomas", last_known_postcode="SW1A 9ZZ")  # a name and the postcode sector differ
    result = match_learner(query(), [moved, *one_off])
    ranked = sorted(result.matches, key=lambda m: (-m.score, m.learner.uln))
    assert (result.outcome, result.matches, result.matches[-1].learner) == (MatchOutcome.POSSIBLE, tuple(ranked), moved)
    assert {m.learner.uln for m in result.matches} == {s.uln for s in [moved, *one_off]}


def test_more_than_ten_possible_matches_are_too_many() -> None:
    """Eleven possible matches are too many, and none of them is returned."""
    near = [learner(given_name=name) for name in "Ada Ama Ana Ava Aya Bea Cara Dara Eva Fay Gia".split()]
    assert match_learner(query(), near) == MatchResult(MatchOutcome.TOO_MANY)


def test_nobody_similar_is_no_match() -> None:
    """A learner agreeing only on gender and postcode is no match at all."""
    other = learner(given_name="Thomas", family_name="Whitfield", date_of_birth=date(1990, 1, 1))
    assert match_learner(query(), [other]) == MatchResult(MatchOutcome.NONE)


def test_three_fields_without_date_of_birth_are_not_enough() -> None:
    """A learner agreeing on three fields but not the date of birth is not a possible match."""
    other = learner(given_name="Thomas", date_of_birth=date(2008, 4, 21))
    assert match_learner(query(), [other]) == MatchResult(MatchOutcome.NONE)


def test_both_names_different_is_another_person() -> None:
    """A learner agreeing on date of birth, gender and postcode but on neither name is not a candidate."""
    other = learner(given_name="Thomas", family_name="Whitfield")
    assert match_learner(query(), [other]) == MatchResult(MatchOutcome.NONE)


def test_different_names_in_a_non_latin_script_are_not_an_exact_match() -> None:
    """Two different people whose names are in Cyrillic are never an exact match for each other."""
    dmitri = learner(given_name="Дмитрий", family_name="Иванов")
    result = match_learner(query(given_name="Сергей", family_name="Петров"), [dmitri])
    assert result.outcome != MatchOutcome.EXACT


def test_letters_with_a_stroke_fold_like_other_accents() -> None:
    """Łukasz Søren typed as Lukasz Soren still matches exactly, as Zoë typed as Zoe does."""
    lukasz = learner(given_name="Łukasz", family_name="Søren")
    assert match_learner(query(given_name="Lukasz", family_name="Soren"), [lukasz]) == exact(lukasz)


@pytest.mark.parametrize(("registered", "asked"), [("Oliver", "Olly"), ("Olivia", "Livvy"), ("Alfred", "Alfie")])
def test_british_diminutives_are_nicknames(registered: str, asked: str) -> None:
    """Short forms the American nicknames dataset lacks still count as the same given name."""
    someone = learner(given_name=registered)
    result = match_learner(query(given_name=asked), [someone])
    assert [(m.learner.uln, m.agreement["given_name"]) for m in result.matches] == [(someone.uln, "nickname")]


def test_common_names_at_their_own_postcode_with_a_wholly_wrong_birth_date_are_a_possible_match() -> None:
    """Both names and the full postcode agree: however common the names, the learner is offered, never exact."""
    grace = learner(given_name="Grace", family_name="Singh")
    common = NameFrequencies({"grace": 300}, {"singh": 300}, 10_000)  # 3% each: the commonest names
    asked = query(given_name="Grace", family_name="Singh", date_of_birth=date(2016, 11, 20))

    result = match_learner(asked, [grace], common)

    assert (result.outcome, [m.learner for m in result.matches]) == (MatchOutcome.POSSIBLE, [grace])
    assert result.matches[0].differing_fields == ("date_of_birth",)


def test_common_names_elsewhere_with_a_wholly_wrong_birth_date_are_no_match() -> None:
    """Away from the learner's postcode, agreeing on two common names and little else is not evidence enough."""
    grace = learner(given_name="Grace", family_name="Singh")
    common = NameFrequencies({"grace": 300}, {"singh": 300}, 10_000)
    asked = query(
        given_name="Grace", family_name="Singh", date_of_birth=date(2016, 11, 20), last_known_postcode="SW1A 2AA"
    )

    assert match_learner(asked, [grace], common) == MatchResult(MatchOutcome.NONE)


@pytest.mark.parametrize(("registered", "asked"), [("Ivy", "Vy"), ("Day", "Ay")])
def test_a_letter_dropped_from_a_three_letter_name_is_a_slip(registered: str, asked: str) -> None:
    """ "Vy" for Ivy or "Ay" for Day is one slip, as in longer names; so it is with the names swapped too."""
    as_family = score_learner(query(family_name=asked), learner(family_name=registered))
    swapped = learner(given_name=registered, family_name="Reton")

    result = match_learner(query(given_name="Reton", family_name=asked), [swapped])

    assert (as_family.agreement["family_name"], result.outcome) == ("similar", MatchOutcome.POSSIBLE)
    assert result.matches[0].agreement["given_name"] == result.matches[0].agreement["family_name"] == "swapped"


def test_two_letter_names_one_letter_apart_are_not_a_slip() -> None:
    """Ko and Ho: two letters are too few for one to be a slip rather than another name."""
    assert score_learner(query(family_name="Ko"), learner(family_name="Ho")).agreement["family_name"] == "differs"

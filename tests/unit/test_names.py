"""Names hold a letter and no invisible format characters, codes are whole numbers; the contract refuses the rest."""

import json

import pytest
from pydantic import ValidationError

from contracts.learner import RegisterLearner

from .builders import register_body


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (". ", "a name must contain at least one letter"),
        ("--", "a name must contain at least one letter"),
        ("A\u202eilema", "a name must not contain invisible format characters (bidirectional or zero-width)"),
        ("Ame\u200blia", "a name must not contain invisible format characters (bidirectional or zero-width)"),
        ("Amelia\u2066", "a name must not contain invisible format characters (bidirectional or zero-width)"),
    ],
)
def test_a_name_without_a_letter_or_with_invisible_characters_is_refused(given: str, message: str) -> None:
    """Punctuation alone, bidirectional controls and zero-width characters are refused, naming the rule."""
    with pytest.raises(ValidationError) as e:
        RegisterLearner.model_validate(register_body("10030488", given_name=given))
    assert [(err["loc"], err["msg"]) for err in e.value.errors()] == [
        (("learner", "given_name"), f"Value error, {message}")
    ]


@pytest.mark.parametrize("given", ["Zoë", "Сергей", "Mary-Jane", "D'Arcy", "Ngọc"])
def test_real_names_of_any_script_pass(given: str) -> None:
    """Names with accents, apostrophes, hyphens and other scripts are names."""
    assert RegisterLearner.model_validate(register_body("10030488", given_name=given)).learner.given_name == given


@pytest.mark.parametrize("field", ["gender", "verification_type", "ability_to_share"])
def test_a_code_sent_as_a_decimal_is_refused(field: str) -> None:
    """A code list value is a whole number: 1.0 is refused as a bool would be."""
    body = register_body("10030488", **{field: 1.0})
    with pytest.raises(ValidationError) as e:
        RegisterLearner.model_validate_json(json.dumps(body), strict=True)
    assert [(err["loc"], err["msg"]) for err in e.value.errors()] == [
        (("learner", field), "Value error, a code is a whole number, not a decimal")
    ]

"""The README's JSON examples describe one learner consistently, so that copying them works.

An integrator copies the examples in order: register a learner, then verify her, send her
achievements and enrolments. If one example names her differently, the copy is refused
(`not_verified`), so every example naming a ULN must name the learner registered with it.
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.examples import EXAMPLES

README = Path(__file__).resolve().parents[2] / "README.md"
_FENCED = re.compile(r"```json\n(.*?)```", re.DOTALL)
_INLINE = re.compile(r"`(\{[^`]*\})`")
_ULN = re.compile(r"^[1-9][0-9]{9}$")
EXAMPLE_ULN = "9276308686"  # the README's learner, registered as in its registration example
IDENTITY = ("given_name", "family_name", "date_of_birth")


def readme_json(text: str) -> list[Any]:
    """Every JSON value in the README: fenced ```json blocks and inline `{...}` spans that parse."""
    found = [json.loads(block) for block in _FENCED.findall(text)]
    for span in _INLINE.findall(text):
        try:
            found.append(json.loads(span))
        except ValueError:
            continue  # an inline sketch with placeholders ("...") is not an example
    return found


def learners_named(value: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """(ULN, identity fields present) for every object that names a real ULN with a given name."""
    if isinstance(value, list):
        for item in value:
            yield from learners_named(item)
    elif isinstance(value, dict):
        uln = value.get("uln")
        if isinstance(uln, str) and _ULN.match(uln) and "given_name" in value:
            yield uln, {k: value[k] for k in IDENTITY if value.get(k) is not None}
        for item in value.values():
            yield from learners_named(item)


def _registered_learner(examples: list[Any]) -> dict[str, str]:
    [registration] = [e for e in examples if isinstance(e, dict) and "learner" in e and "mis_identifier" in e
                      and "response_code" not in e]  # fmt: skip
    return {k: registration["learner"][k] for k in IDENTITY}


def _inconsistent(
    named: list[tuple[str, dict[str, str]]], registered: dict[str, str]
) -> list[tuple[str, dict[str, str]]]:
    """The examples that name the README's learner (ULN 9276308686) otherwise, or a ULN two ways."""
    first: dict[str, dict[str, str]] = {EXAMPLE_ULN: registered}
    wrong = []
    for uln, ident in named:
        expected = first.setdefault(uln, ident)
        if ident != {k: expected[k] for k in ident if k in expected}:
            wrong.append((uln, ident))
    return wrong


def test_every_readme_example_names_the_registered_learner() -> None:
    """Each README example that names a ULN and a learner names the learner of the registration example."""
    examples = readme_json(README.read_text())
    named = list(learners_named(examples))
    assert len(named) >= 6  # the check really reads the examples
    assert _inconsistent(named, _registered_learner(examples)) == []


def test_asyncapi_examples_name_the_readmes_learner() -> None:
    """The AsyncAPI document's examples name the same learner as the README's registration example."""
    registered = _registered_learner(readme_json(README.read_text()))
    bodies = [e.model_dump(mode="json") for e in EXAMPLES.values()]
    named = list(learners_named(bodies))
    assert len(named) >= 5
    assert _inconsistent(named, registered) == []


@pytest.mark.parametrize("renamed", ["Amira", "Emilia"])
def test_a_renamed_learner_in_one_example_is_caught(renamed: str) -> None:
    """The check really checks: one example naming the learner differently fails it."""
    text = README.read_text().replace(
        '"uln": "9276308686", "given_name": "Amelia"', f'"uln": "9276308686", "given_name": "{renamed}"', 1
    )
    examples = readme_json(text)
    assert _inconsistent(list(learners_named(examples)), _registered_learner(examples)) == [
        ("9276308686", {"given_name": renamed, "family_name": "Okafor"})
    ]

"""The checked-in JSON Schemas and AsyncAPI document match the models, and published versions hold."""

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from contracts import ANSWERS, EVENTS, REQUESTS, generate
from contracts.compat import Incompatibility, compare_published, incompatible_changes
from contracts.examples import EXAMPLES
from contracts.learner import RegisterLearner

ALL_CONTRACTS = {**REQUESTS, **ANSWERS, **EVENTS}


# --- the generator ---------------------------------------------------------------------------


def test_checked_in_schemas_and_asyncapi_are_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m contracts.generate --check` passes on the repository as committed."""
    code = generate.main(["--check"])
    assert code == 0, capsys.readouterr().err


@pytest.fixture
def contracts_copy(tmp_path: Path) -> Path:
    """A copy of the generated files, to break without touching the repository."""
    shutil.copytree(generate.CONTRACTS_DIR / "schemas", tmp_path / "schemas")
    shutil.copy(generate.CONTRACTS_DIR / "asyncapi.yaml", tmp_path / "asyncapi.yaml")
    return tmp_path


def test_check_names_a_stale_file(contracts_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A hand-edited generated file makes the check fail and names the file."""
    asyncapi = contracts_copy / "asyncapi.yaml"
    asyncapi.write_text(asyncapi.read_text().replace("Learner records hub", "Learner records hub (edited)"))
    assert generate.main(["--check"], root=contracts_copy) == 1
    assert f"stale: {asyncapi}" in capsys.readouterr().err


def test_check_refuses_an_incompatible_change_to_a_published_version(
    contracts_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A published schema that accepted longer given names than the model now does is a break."""
    published = contracts_copy / "schemas" / "learner.register.v1.json"
    schema = json.loads(published.read_text())
    del schema["$defs"]["LearnerDetails"]["properties"]["given_name"]["maxLength"]
    published.write_text(json.dumps(schema))

    assert generate.main(["--check"], root=contracts_copy) == 1
    err = capsys.readouterr().err
    assert "learner.given_name: maxLength narrowed from (none) to 35" in err
    assert "add the change as a new contract, learner.register.v2" in err


def test_writing_refuses_to_overwrite_a_published_version_incompatibly(contracts_copy: Path) -> None:
    """Without --allow-incompatible the generator leaves a published schema it would break alone."""
    published = contracts_copy / "schemas" / "learner.register.v1.json"
    schema = json.loads(published.read_text())
    del schema["$defs"]["LearnerDetails"]["properties"]["given_name"]["maxLength"]
    published.write_text(json.dumps(schema))

    assert generate.main([], root=contracts_copy) == 1
    assert json.loads(published.read_text()) == schema


def test_check_refuses_a_message_type_that_disappeared(
    contracts_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A published schema whose contract is gone from the registries is a break."""
    (contracts_copy / "schemas" / "achievement.retract.v1.json").write_text("{}\n")
    assert generate.main(["--check"], root=contracts_copy) == 1
    assert "(message): message type no longer exists" in capsys.readouterr().err


def test_generating_into_an_empty_directory_produces_files_that_pass_the_check(tmp_path: Path) -> None:
    """Writing is deterministic: what it writes is exactly what the check expects."""
    assert generate.main([], root=tmp_path) == 0
    assert generate.main(["--check"], root=tmp_path) == 0
    assert sorted(p.name for p in (tmp_path / "schemas").iterdir()) == sorted(f"{t}.json" for t in ALL_CONTRACTS)


# --- documentation the generator draws on ---------------------------------------------------


def test_every_contract_has_a_docstring_and_an_example() -> None:
    """The AsyncAPI messages take their description from the docstring and their example from EXAMPLES."""
    assert [t for t, model in ALL_CONTRACTS.items() if not (model.__doc__ or "").strip()] == []
    assert sorted(EXAMPLES) == sorted(ALL_CONTRACTS)


@pytest.mark.parametrize("message_type", sorted(EXAMPLES))
def test_example_is_valid_against_its_published_schema(message_type: str) -> None:
    """Each example, as JSON on the wire, passes its schema file and reads back as the same model."""
    example = EXAMPLES[message_type]
    wire = example.model_dump(mode="json")
    schema = json.loads((generate.CONTRACTS_DIR / "schemas" / f"{message_type}.json").read_text())
    errors = [e.message for e in Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(wire)]
    assert errors == []
    assert type(example) is ALL_CONTRACTS[message_type]
    assert ALL_CONTRACTS[message_type].model_validate(wire) == example


# --- compat: what counts as breaking a published version ------------------------------------


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties, "required": list(required)}


PUBLISHED = _object(
    {
        "uln": {"type": "string", "pattern": "^[1-9][0-9]{9}$", "maxLength": 10},
        "reason": {"type": "string", "enum": ["invalid_contract", "unknown_sender"]},
        "version": {"type": "integer", "minimum": 1},
        "note": {"anyOf": [{"type": "string", "maxLength": 50}, {"type": "null"}], "default": None},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}},
        "learner": {"$ref": "#/$defs/Learner"},
    },
    required=("uln", "learner"),
)
PUBLISHED["$defs"] = {"Learner": _object({"given_name": {"type": "string", "maxLength": 35}}, ("given_name",))}


def _changed(*edits: tuple[tuple[str | int, ...], Any]) -> dict[str, Any]:
    """PUBLISHED with each (path, value) set; a value of `...` deletes the key."""
    schema = copy.deepcopy(PUBLISHED)
    for path, value in edits:
        parent: Any = schema  # dicts and lists, by key or index
        for key in path[:-1]:
            parent = parent[key]
        if value is ...:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return schema


P = "properties"
INCOMPATIBLE = {
    "property removed": (_changed(((P, "version"), ...)), [Incompatibility("version", "property removed")]),
    "type changed": (
        _changed(((P, "version", "type"), "string")),
        [Incompatibility("version", "type changed: integer no longer accepted (now string)")],
    ),
    "enum narrowed": (
        _changed(((P, "reason", "enum"), ["invalid_contract"])),
        [Incompatibility("reason", 'enum narrowed: ["unknown_sender"] removed')],
    ),
    "enum added": (
        _changed(((P, "version", "enum"), [1, 2])),
        [Incompatibility("version", "now restricted to enum [1, 2]")],
    ),
    "pattern changed": (
        _changed(((P, "uln", "pattern"), "^[0-9]{10}$")),
        [Incompatibility("uln", 'pattern changed from "^[1-9][0-9]{9}$" to "^[0-9]{10}$"')],
    ),
    "maxLength narrowed": (
        _changed(((P, "uln", "maxLength"), 9)),
        [Incompatibility("uln", "maxLength narrowed from 10 to 9")],
    ),
    "maxLength narrowed inside an optional": (
        _changed(((P, "note", "anyOf", 0, "maxLength"), 40)),
        [Incompatibility("note", "maxLength narrowed from 50 to 40")],
    ),
    "null no longer accepted": (
        _changed(((P, "note", "anyOf"), [{"type": "string", "maxLength": 50}])),
        [Incompatibility("note", "type changed: null no longer accepted (now string)")],
    ),
    "minimum raised": (
        _changed(((P, "version", "minimum"), 2)),
        [Incompatibility("version", "minimum narrowed from 1 to 2")],
    ),
    "array items narrowed": (
        _changed(((P, "tags", "items", "maxLength"), 10)),
        [Incompatibility("tags[]", "maxLength narrowed from 20 to 10")],
    ),
    "nested definition narrowed": (
        _changed((("$defs", "Learner", P, "given_name", "maxLength"), 30)),
        [Incompatibility("learner.given_name", "maxLength narrowed from 35 to 30")],
    ),
    "new required property": (
        _changed(((P, "school"), {"type": "string"}), (("required",), ["uln", "learner", "school"])),
        [Incompatibility("school", "new required property")],
    ),
    "optional property became required": (
        _changed((("required",), ["uln", "learner", "version"])),
        [Incompatibility("version", "property became required")],
    ),
}


@pytest.mark.parametrize("case", sorted(INCOMPATIBLE))
def test_compat_catches_an_incompatible_change(case: str) -> None:
    """Each kind of breaking change is reported, at the right place, and nothing else is."""
    new, expected = INCOMPATIBLE[case]
    assert incompatible_changes(PUBLISHED, new) == expected


COMPATIBLE = {
    "unchanged": _changed(),
    "new optional property": _changed(((P, "school"), {"anyOf": [{"type": "string"}, {"type": "null"}]})),
    "enum value added": _changed(((P, "reason", "enum"), ["invalid_contract", "unknown_sender", "sender_mismatch"])),
    "maxLength widened": _changed(((P, "uln", "maxLength"), 12)),
    "required property became optional": _changed((("required",), ["learner"])),
    "integer widened to number": _changed(((P, "version", "type"), "number")),
    "description changed": _changed(((P, "uln", "description"), "Unique Learner Number")),
    "null now accepted": _changed(((P, "version"), {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]})),
}


@pytest.mark.parametrize("case", sorted(COMPATIBLE))
def test_compat_accepts_a_compatible_change(case: str) -> None:
    """Changes that keep every published message valid are not reported."""
    assert incompatible_changes(PUBLISHED, COMPATIBLE[case]) == []


def test_compat_reports_a_message_type_that_disappeared() -> None:
    """A published message type missing from the current contracts is incompatible; a new one is not."""
    problems = compare_published({"learner.register.v1": PUBLISHED}, {"learner.register.v2": PUBLISHED})
    assert problems == {"learner.register.v1": [Incompatibility("", "message type no longer exists")]}


def test_compat_terminates_on_recursive_schemas() -> None:
    """A model that contains itself (directly or optionally) is compared without looping."""
    tree = _object(
        {
            "children": {"type": "array", "items": {"$ref": "#/$defs/Tree"}},
            "parent": {"anyOf": [{"$ref": "#/$defs/Tree"}, {"type": "null"}]},
            "name": {"type": "string", "maxLength": 10},
        }
    )
    old: dict[str, Any] = {"$ref": "#/$defs/Tree", "$defs": {"Tree": tree}}
    new = copy.deepcopy(old)
    new["$defs"]["Tree"]["properties"]["name"]["maxLength"] = 5
    assert incompatible_changes(old, old) == []
    assert incompatible_changes(old, new) == [Incompatibility("name", "maxLength narrowed from 10 to 5")]


def test_compat_finds_nothing_between_a_real_contract_and_itself() -> None:
    """The pydantic output of a real contract, with $defs, enums and optionals, compares clean."""
    schema = RegisterLearner.model_json_schema()
    assert incompatible_changes(schema, copy.deepcopy(schema)) == []

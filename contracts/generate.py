"""Write the JSON Schemas and the AsyncAPI document generated from the contract registries.

    uv run python -m contracts.generate           # write contracts/schemas/*.json, contracts/asyncapi.yaml
    uv run python -m contracts.generate --check   # exit 1 if they are stale or a published version broke

The checked-in `schemas/<message_type>.json` are the published versions: both modes refuse
to overwrite one incompatibly (see `contracts.compat`). `--allow-incompatible` exists only for
a contract that was never released. A development tool: it needs pyyaml (a dev dependency).
"""

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from contracts import ANSWERS, EVENTS, REQUESTS
from contracts.asyncapi import build_document
from contracts.base import Contract
from contracts.compat import Incompatibility, compare_published
from contracts.examples import EXAMPLES

CONTRACTS_DIR = Path(__file__).resolve().parent
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line text (readable descriptions) and no anchors (plain, diffable)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _represent_str)


def all_contracts() -> dict[str, type[Contract]]:
    """Every contract of the three registries, by message type; a type must be unique."""
    contracts: dict[str, type[Contract]] = {}
    for registry in (REQUESTS, ANSWERS, EVENTS):
        for message_type, model in registry.items():
            if message_type != model.message_type or message_type in contracts:
                raise ValueError(f"{message_type} is registered twice or under another model's name")
            contracts[message_type] = model
    return contracts


def contract_schema(model: type[Contract]) -> dict[str, Any]:
    """The JSON Schema of one contract, naming its dialect so validators pick the right draft."""
    return {"$schema": SCHEMA_DIALECT, **model.model_json_schema()}


def render_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_yaml(data: Any) -> str:
    # sort_keys=False keeps the document in its reading order (info, servers, channels, ...).
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return text


def generated_files(root: Path = CONTRACTS_DIR) -> dict[Path, str]:
    """Every file the generator owns, with the content it should have."""
    files = {
        root / "schemas" / f"{message_type}.json": render_json(contract_schema(model))
        for message_type, model in sorted(all_contracts().items())
    }
    files[root / "asyncapi.yaml"] = render_yaml(build_document(REQUESTS, ANSWERS, EVENTS, EXAMPLES))
    return files


def published_schemas(root: Path = CONTRACTS_DIR) -> dict[str, Mapping[str, Any]]:
    """The checked-in schemas, by message type: the versions organisations rely on."""
    return {path.stem: json.loads(path.read_text()) for path in sorted((root / "schemas").glob("*.json"))}


def breaking_changes(root: Path = CONTRACTS_DIR) -> dict[str, list[Incompatibility]]:
    """Published schemas that the current models would change incompatibly."""
    current = {message_type: contract_schema(model) for message_type, model in all_contracts().items()}
    return compare_published(published_schemas(root), current)


def stale_files(root: Path = CONTRACTS_DIR) -> list[Path]:
    """Generated files that are missing or differ, and schema files no contract produces."""
    expected = generated_files(root)
    stale = [path for path, text in expected.items() if not path.is_file() or path.read_text() != text]
    stale += [path for path in sorted((root / "schemas").glob("*.json")) if path not in expected]
    return stale


def describe_breaking(problems: Mapping[str, list[Incompatibility]], root: Path = CONTRACTS_DIR) -> str:
    """Explain each broken published version and what to do instead."""
    lines = []
    for message_type, found in problems.items():
        lines.append(f"{_shown(root / 'schemas' / f'{message_type}.json')} is published; the current models break it:")
        lines += [f"  - {problem}" for problem in found]
        lines.append(
            f"  Keep {message_type} as it was and add the change as a new contract, {_next_version(message_type)}, "
            "registered beside it."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None, root: Path = CONTRACTS_DIR) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.generate", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything is stale or broken")
    parser.add_argument(
        "--allow-incompatible",
        action="store_true",
        help="overwrite published schemas anyway (unreleased contracts only)",
    )
    args = parser.parse_args(argv)
    broken = breaking_changes(root)
    if broken and not args.allow_incompatible:
        print(describe_breaking(broken, root), file=sys.stderr)
        return 1
    if args.check:
        stale = stale_files(root)
        for path in stale:
            print(f"stale: {_shown(path)}", file=sys.stderr)
        if stale:
            print("Run `uv run python -m contracts.generate` and commit the result.", file=sys.stderr)
        return 1 if stale else 0
    _write(root)
    return 0


def _write(root: Path) -> None:
    expected = generated_files(root)
    (root / "schemas").mkdir(exist_ok=True)
    for path in stale_files(root):
        if path in expected:
            path.write_text(expected[path])
            print(f"wrote {_shown(path)}")
        else:
            path.unlink()
            print(f"removed {_shown(path)}")


def _next_version(message_type: str) -> str:
    match = re.fullmatch(r"(.*)\.v(\d+)", message_type)
    return f"{match[1]}.v{int(match[2]) + 1}" if match else f"{message_type}.v2"


def _shown(path: Path) -> str:
    """A path relative to the repository root when it is inside it, for short messages."""
    try:
        return str(path.relative_to(CONTRACTS_DIR.parent))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())

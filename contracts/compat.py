"""Find the changes to a contract's JSON Schema that would break its published version.

A published version never changes incompatibly (DESIGN.md, "Message conventions"). The rule
checked here: every message valid under the published schema must still be valid under the
new one, and every property it had must still be there. So a removed property, a new required
property, a type, enum, const, pattern or format that changed, or a length, size or range
that shrank is an incompatibility; a new optional property, a new enum value, a new type in a
union or a description that changed is not.

The comparison is structural and deliberately conservative: where it cannot tell whether a
change narrows (two different regular expressions, an `allOf` it does not model) it reports
the change, and the developer publishes a new version instead.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Schema = Mapping[str, Any]

# Keywords whose larger value accepts fewer messages, and those whose smaller value does.
_LOWER_BOUNDS = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")
_UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
# Keywords whose any change (or appearance) may reject what used to pass.
# Set on a resolved branch: the `$ref` it came from, to notice recursion.
_ORIGIN = "x-compat-origin"
_EXACT = ("pattern", "format", "multipleOf", "prefixItems", "allOf", "not", "if", "then", "else")


@dataclass(frozen=True, order=True)
class Incompatibility:
    """One change that breaks a published contract, at a dotted `path` in the message."""

    path: str
    change: str

    def __str__(self) -> str:
        return f"{self.path or '(message)'}: {self.change}"


def incompatible_changes(old: Schema, new: Schema) -> list[Incompatibility]:
    """List what in `new` breaks messages valid under the published schema `old`."""
    return sorted(set(_Comparison(old, new).compare(old, new, "", frozenset())))


def compare_published(
    published: Mapping[str, Schema], current: Mapping[str, Schema]
) -> dict[str, list[Incompatibility]]:
    """Compare every published schema, by message type, with the current one.

    Returns only the message types with incompatibilities; a message type that no longer
    exists is one.
    """
    problems: dict[str, list[Incompatibility]] = {}
    for message_type in sorted(published):
        if message_type not in current:
            problems[message_type] = [Incompatibility("", "message type no longer exists")]
            continue
        found = incompatible_changes(published[message_type], current[message_type])
        if found:
            problems[message_type] = found
    return problems


class _Comparison:
    """Walks the old and new schema side by side, each resolving `$ref`s in its own document."""

    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self._old_root = old_root
        self._new_root = new_root

    def compare(self, old: Schema, new: Schema, path: str, stack: frozenset[tuple[str, str]]) -> list[Incompatibility]:
        old_branches = _branches(self._old_root, old)
        new_branches = _branches(self._new_root, new)
        problems: list[Incompatibility] = []
        for old_branch in old_branches:
            problems += self._branch_survives(old_branch, new_branches, path, stack)
        return problems

    def _branch_survives(
        self, old: Schema, new_branches: list[Schema], path: str, stack: frozenset[tuple[str, str]]
    ) -> list[Incompatibility]:
        """Check that some new branch accepts what this old branch accepted."""
        kind = _kind(old)
        candidates = [b for b in new_branches if _accepts_kind(_kind(b), kind)]
        if not candidates:
            new_kinds = ", ".join(sorted({_kind(b) or "any" for b in new_branches}))
            return [Incompatibility(path, f"type changed: {kind or 'any'} no longer accepted (now {new_kinds})")]
        # The old branch survives if any candidate takes it whole; otherwise report the
        # closest candidate's problems.
        attempts = [self._compare_branch(old, new, path, stack) for new in candidates]
        return min(attempts, key=len)

    def _compare_branch(
        self, old: Schema, new: Schema, path: str, stack: frozenset[tuple[str, str]]
    ) -> list[Incompatibility]:
        # A recursive model refers to itself: the pair of definitions already being compared
        # higher up needs no second look.
        refs = (str(old.get(_ORIGIN, "")), str(new.get(_ORIGIN, "")))
        if refs != ("", ""):
            if refs in stack:
                return []
            stack = stack | {refs}
        problems = _compare_values(old, new, path)
        problems += self._compare_object(old, new, path, stack)
        if isinstance(old.get("items"), Mapping) and isinstance(new.get("items"), Mapping):
            problems += self.compare(old["items"], new["items"], f"{path}[]", stack)
        elif "items" in new and "items" not in old:
            problems.append(Incompatibility(path, "array items are now constrained"))
        return problems

    def _compare_object(
        self, old: Schema, new: Schema, path: str, stack: frozenset[tuple[str, str]]
    ) -> list[Incompatibility]:
        old_props: Mapping[str, Schema] = old.get("properties", {})
        new_props: Mapping[str, Schema] = new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        problems: list[Incompatibility] = []
        for name, old_prop in old_props.items():
            where = f"{path}.{name}" if path else name
            if name not in new_props:
                problems.append(Incompatibility(where, "property removed"))
            else:
                problems += self.compare(old_prop, new_props[name], where, stack)
        for name in sorted(new_required - old_required):
            where = f"{path}.{name}" if path else name
            what = "property became required" if name in old_props else "new required property"
            problems.append(Incompatibility(where, what))
        old_extra, new_extra = old.get("additionalProperties", True), new.get("additionalProperties", True)
        if new_extra is False and old_extra is not False:
            problems.append(Incompatibility(path, "additional properties no longer accepted"))
        elif isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
            problems += self.compare(old_extra, new_extra, f"{path}.*", stack)
        elif old_extra is True and isinstance(new_extra, Mapping):
            problems.append(Incompatibility(path, "additional properties are now constrained"))
        return problems


def _compare_values(old: Schema, new: Schema, path: str) -> list[Incompatibility]:
    """Compare the keywords that constrain a single value: enum, const, bounds, patterns."""
    problems: list[Incompatibility] = []
    old_values = [old["const"]] if "const" in old else old.get("enum")
    if "const" in new and old_values != [new["const"]]:
        problems.append(Incompatibility(path, f"const changed from {_show(old_values)} to {_show(new['const'])}"))
    elif "enum" in new:
        if old_values is None:
            problems.append(Incompatibility(path, f"now restricted to enum {_show(new['enum'])}"))
        else:
            removed = [v for v in old_values if v not in new["enum"]]
            if removed:
                problems.append(Incompatibility(path, f"enum narrowed: {_show(removed)} removed"))
    for key in _UPPER_BOUNDS:
        if key in new and (key not in old or new[key] < old[key]):
            problems.append(Incompatibility(path, f"{key} narrowed from {_show(old.get(key))} to {_show(new[key])}"))
    for key in _LOWER_BOUNDS:
        if key in new and (key not in old or new[key] > old[key]):
            problems.append(Incompatibility(path, f"{key} narrowed from {_show(old.get(key))} to {_show(new[key])}"))
    for key in _EXACT:
        if key in new and new[key] != old.get(key):
            problems.append(Incompatibility(path, f"{key} changed from {_show(old.get(key))} to {_show(new[key])}"))
    if new.get("uniqueItems") is True and old.get("uniqueItems") is not True:
        problems.append(Incompatibility(path, "items must now be unique"))
    return problems


def _branches(root: Schema, node: Schema) -> list[Schema]:
    """Split a schema into the alternatives it accepts (anyOf/oneOf, a list of types)."""
    node = _resolve(root, node)
    for key in ("anyOf", "oneOf"):
        if key in node:
            rest = {k: v for k, v in node.items() if k != key}
            return [b for option in node[key] for b in _branches(root, {**rest, **_resolve(root, option)})]
    if isinstance(node.get("type"), list):
        return [{**node, "type": t} for t in node["type"]]
    return [node]


def _resolve(root: Schema, node: Schema) -> Schema:
    """Follow local `$ref`s (`#/...`); keywords beside a `$ref` are kept (JSON Schema 2020-12)."""
    seen: set[str] = set()
    while isinstance(node.get("$ref"), str) and node["$ref"].startswith("#") and node["$ref"] not in seen:
        ref = node["$ref"]
        seen.add(ref)
        target: Any = root
        for part in ref[1:].split("/")[1:]:
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}, _ORIGIN: ref}
    return node


def _kind(node: Schema) -> str | None:
    """The JSON type a branch accepts, None for any."""
    kind = node.get("type")
    return kind if isinstance(kind, str) else None


def _accepts_kind(new_kind: str | None, old_kind: str | None) -> bool:
    # Every integer is a number, and a branch without a type takes any kind.
    return new_kind is None or new_kind == old_kind or (new_kind, old_kind) == ("number", "integer")


def _show(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, sort_keys=True)

"""Bulk messages whose items are judged one by one: a bad item is answered, the rest applied.

A bulk message is first validated whole (the fast path, in pydantic's core). If only items are
wrong, each item is validated on its own and the wrong ones become `InvalidItem`s in their
place, so the handler answers them by position and applies everything else. Anything wrong
with the envelope itself (not a list, too many items, an unknown field) refuses the message.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from contracts.learner import RejectionError


def validation_errors(error: ValidationError, skip: int = 0, tag: object = None) -> tuple[RejectionError, ...]:
    """The errors as the sender reads them; `skip` drops a prefix of each location (the item's
    place in the bulk) and `tag` a discriminated union's tag after it."""
    out = []
    # Inputs are left out: they may be learner data, and the sender has them anyway.
    for e in error.errors(include_input=False, include_url=False):
        loc = list(e["loc"])[skip:]
        if loc and tag is not None and loc[0] == tag:
            loc = loc[1:]
        out.append(RejectionError(loc=".".join(str(p) for p in loc), message=e["msg"]))
    return tuple(out)


@dataclass(frozen=True)
class InvalidItem:
    """An item of a bulk message that is not a valid item, kept in its place to be answered."""

    index: int
    errors: tuple[RejectionError, ...]
    values: dict[str, str] = field(default_factory=dict)  # the item's short string fields, to echo ids

    @property
    def ref(self) -> str | None:
        return self.field("result_id") or self.field("ref") or self.field("enrolment_id")

    @property
    def action(self) -> str:
        return self.field("action") or ""

    def field(self, name: str) -> str | None:
        return self.values.get(name)

    def only_wrong(self, name: str) -> bool:
        """Whether every error is about field `name`."""
        return bool(self.errors) and all(e.loc == name for e in self.errors)


def _is_item_error(error: Any) -> bool:
    loc = error["loc"]
    return len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int)


def _echo(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str) and len(v) <= 64}


def judge_items(error: ValidationError, body: bytes, item: TypeAdapter[Any]) -> list[Any] | None:
    """The items of a bulk message that failed whole validation, each valid one parsed and each
    invalid one an `InvalidItem`; None when the envelope itself is wrong."""
    if not all(_is_item_error(e) for e in error.errors()):
        return None
    raw_items = json.loads(body)["items"]
    judged: list[Any] = []
    for index, raw in enumerate(raw_items):
        try:
            # Strict, and from JSON text as the whole message was (a date is a string there).
            judged.append(item.validate_json(json.dumps(raw), strict=True))
        except ValidationError as e:
            tag = raw.get("action") if isinstance(raw, dict) else None
            judged.append(InvalidItem(index, validation_errors(e, tag=tag), _echo(raw)))
    return judged

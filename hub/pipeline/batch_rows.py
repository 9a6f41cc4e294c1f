"""What a refused batch row still tells the provider: its MISIdentifier, read leniently.

A row refused for a contract error has no parsed request, yet the provider matches output
rows to its own learners by MISIdentifier, so the raw body is read again for that one field.
It is kept only when it is what the contract would accept (1-128 printable characters), so
a hostile body can put nothing else into the output file.
"""

import json

from pydantic import TypeAdapter, ValidationError

from contracts.fields import MisIdentifier

# A register body with every field at its longest is about 6 KB: anything far larger is not
# worth parsing again for one field.
_MAX_BODY = 64 * 1024
_MIS_IDENTIFIER = TypeAdapter(MisIdentifier)


def mis_identifier_of(body: bytes) -> str | None:
    """The `mis_identifier` of a raw learner.register.v1 body, if it is a sane one; else None."""
    if len(body) > _MAX_BODY:
        return None
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
        return None
    candidate = value.get("mis_identifier") if isinstance(value, dict) else None
    if not isinstance(candidate, str):
        return None
    try:
        return _MIS_IDENTIFIER.validate_python(candidate)
    except ValidationError:
        return None

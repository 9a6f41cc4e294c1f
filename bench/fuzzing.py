"""Bad messages for the hub: every request type, broken in its body, AMQP properties and headers.

Pure (no I/O, deterministic for a seed): `generate(count, seed, orgs)` returns `FuzzCase`s, which
bench/fuzz.py publishes to a real `hub serve` and tests/integration/test_fuzz.py replays a few
hundred of. Each case starts from the valid example of its type (contracts/examples.py) and breaks
one thing, named by `mutation` and `detail`, so a mishandled case is its own minimal example.

Case k takes mutation k % M and type (k % M + k // M) % T: the first M cases use every mutation
and every type, the first M * T every pair; later rounds draw other variants from the seed.
"""

import copy
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from contracts import REQUESTS
from contracts import examples as ex
from contracts.codes import OrganisationKind
from hub.pipeline.inbound import MAX_BODY_BYTES
from hub.pipeline.routes import HANDLERS
from hub.pipeline.routing import BATCH_ID_HEADER, BATCH_ROW_HEADER, BATCH_ROWS_HEADER

# What a delivery should end as, besides "handled by the hub" (answered and/or dead-lettered).
HUB, BROKER_REFUSES, NO_ANSWER = "hub", "broker_refuses", "no_answer"
BULK_TYPES = frozenset(t for t, route in HANDLERS.items() if route.items is not None)


@dataclass(frozen=True)
class Orgs:
    """The campaign's organisations (RabbitMQ users are global: fresh ids per run) and its learner."""

    provider: str
    awarding: str
    partner: str
    portal: str
    suspended: str  # a provider, suspended
    unregistered: str  # a broker user missing from the organisation register
    uln: str  # the examples' learner (Amira Okafor), registered by `provider` before the campaign

    def of_kind(self, kind: OrganisationKind) -> str:
        return {
            OrganisationKind.PROVIDER: self.provider,
            OrganisationKind.AWARDING_ORGANISATION: self.awarding,
            OrganisationKind.PARTNER: self.partner,
            OrganisationKind.LEARNER_PORTAL: self.portal,
        }[kind]

    def answering(self) -> tuple[str, ...]:
        """Organisations that have an answer queue."""
        return (self.provider, self.awarding, self.partner, self.portal, self.suspended)


@dataclass(frozen=True)
class FuzzCase:
    """One message to publish, and what the hub should make of it."""

    case_id: str
    mutation: str  # what was broken, e.g. "value.nul"
    detail: str  # where and how, e.g. "learner.notes"
    base_type: str  # the request type whose example the body came from
    sender: str  # the organisation (RabbitMQ user) that publishes it
    body: bytes
    amqp_type: str | None
    message_id: str | None
    routing_key: str
    user_id: str | None
    content_type: str | None = "application/json"
    content_encoding: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    # True: the hub must refuse it; False: accepting it is fine too (it must still never fault);
    # None, while a case is being made: as the contract says (`_resolve` decides).
    must_reject: bool | None = True
    bad_item: int | None = None  # in a bulk message: the index of the broken item (answered on its own)
    expect: str = HUB


class RawStr(str):
    """A str whose UTF-8 encoding is the given bytes: how pamqp can be made to send invalid UTF-8.

    pamqp encodes AMQP strings with `value.encode("utf-8")`; other clients (Node's amqplib with a
    Buffer) send any bytes, and the broker passes them on unchecked.
    """

    raw: bytes

    def __new__(cls, raw: bytes) -> "RawStr":
        s = super().__new__(cls, raw.decode("utf-8", "replace"))
        s.raw = raw
        return s

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return self.raw


class AbsentStr(str):
    """No message_id at all. aiormq gives a message without one an id of its own (a uuid4 hex), as
    any aio-pika client would; other clients (pika, amqplib) send none. This value is truthy, so
    aiormq keeps it, and equal to "", so pamqp leaves the property out."""

    def __bool__(self) -> bool:
        return True


class EmptyStr(str):
    """A message_id present on the wire but empty (pamqp would leave out a plain "")."""

    def __new__(cls) -> "EmptyStr":
        return super().__new__(cls, "(empty)")

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b""


def wire_message_id(message_id: str | None) -> str:
    """What to set as an aio-pika message's `message_id` (past its str()) to send `message_id` as it is."""
    return AbsentStr() if message_id is None else EmptyStr() if message_id == "" else message_id


# ---- the valid starting point of every case
def base_body(message_type: str, orgs: Orgs, sender: str, rng: random.Random) -> dict[str, Any]:
    """The example of `message_type`, speaking of the campaign's learner and organisations."""
    body: dict[str, Any] = _substitute(ex.EXAMPLES[message_type].model_dump(mode="json"), orgs, sender)
    if message_type == "learner.register.v1":
        # Someone new each time, so that a registration which wrongly passes is stored (and seen).
        body["learner"] |= {"given_name": _word(rng, 6), "family_name": _word(rng, 8)}
    return body


def _substitute(value: Any, orgs: Orgs, sender: str, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, orgs, sender, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, orgs, sender, key) for v in value]
    if value == ex.ULN:
        return orgs.uln
    if key == "ukprn":
        return sender
    if key == "org_id":
        return orgs.partner
    if key == "provider_ukprn":
        return orgs.provider
    return value


def _word(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("bcdfghjklmnprstvwz") + rng.choice("aeiou") for _ in range(n // 2)).capitalize()


def contract_accepts(message_type: str | None, body: bytes) -> bool:
    """Whether the contract (as the hub reads it: strict JSON) takes this body as it is."""
    contract = REQUESTS.get(message_type or "")
    if contract is None:
        return False
    try:
        contract.model_validate_json(body, strict=True)
    except (ValidationError, ValueError, RecursionError):
        return False
    return True


def item_accepts(message_type: str, item: Any) -> bool:
    """Whether one item of a bulk message is valid on its own."""
    adapter = HANDLERS[message_type].items
    assert adapter is not None
    try:
        adapter.validate_json(json.dumps(item), strict=True)
    except (ValidationError, ValueError, RecursionError):
        return False
    return True


# ---- walking a body: leaves, and setting one
Path = tuple[str | int, ...]


def _leaves(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path, value


def _dicts(value: Any, path: Path = ()) -> Iterator[tuple[Path, dict[str, Any]]]:
    if isinstance(value, dict):
        yield path, value
        for k, v in value.items():
            yield from _dicts(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _dicts(v, (*path, i))


def _set(body: Any, path: Path, value: Any) -> Any:
    out = copy.deepcopy(body)
    if not path:
        return value
    target = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


def _dotted(path: Path) -> str:
    return ".".join(map(str, path)) or "(body)"


# A leaf is a string target when it is a string or an optional field left null (notes, email, ...).
def _string_leaves(body: Any) -> list[tuple[Path, Any]]:
    return [(p, v) for p, v in _leaves(body) if p and (isinstance(v, str) or v is None)]


def _int_leaves(body: Any) -> list[tuple[Path, Any]]:
    return [(p, v) for p, v in _leaves(body) if p and isinstance(v, int) and not isinstance(v, bool)]


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


# ---- mutations: each takes the valid case and returns it broken (or None: not applicable)
@dataclass
class _Ctx:
    rng: random.Random
    orgs: Orgs
    case: FuzzCase  # the valid starting point
    body: Any  # its body, parsed
    huge_bytes: int
    earlier: list[FuzzCase]  # cases generated so far (for reused message ids)

    def pick(self, options: list[Any] | tuple[Any, ...]) -> Any:
        return options[self.rng.randrange(len(options))]

    def with_body(self, body: Any, detail: str, must_reject: bool | None = None, **kw: Any) -> FuzzCase:
        """The case with a new body (JSON of `body`, or these bytes); must_reject None: as the contract says."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.changed(detail, must_reject, body=raw, **kw)

    def changed(self, detail: str, must_reject: bool | None, **kw: Any) -> FuzzCase:
        return replace(self.case, detail=detail, must_reject=must_reject, **kw)

    def splice(self, path: Path, raw: bytes, detail: str, must_reject: bool | None = True) -> FuzzCase:
        """Put `raw` bytes, verbatim, where the value at `path` was (for what json.dumps cannot write)."""
        marker = "\ue000fuzz\ue000"
        text = json.dumps(_set(self.body, path, marker), ensure_ascii=False).encode()
        return self.with_body(text.replace(json.dumps(marker, ensure_ascii=False).encode(), raw), detail, must_reject)


Mutation = Callable[[_Ctx], FuzzCase | None]


def _insert(value: Any, piece: str, rng: random.Random) -> str:
    text = value if isinstance(value, str) else "abc"
    at = rng.randrange(len(text) + 1)
    return text[:at] + piece + text[at:]


def _in_string(pieces: tuple[str, ...], must_reject: bool | None) -> Mutation:
    def mutate(c: _Ctx) -> FuzzCase | None:
        leaves = _string_leaves(c.body)
        if not leaves:
            return None
        path, value = c.pick(leaves)
        piece = c.pick(pieces)
        return c.with_body(
            _set(c.body, path, _insert(value, piece, c.rng)), f"{_dotted(path)} += {piece!r}", must_reject
        )

    return mutate


def _value(
    options: Callable[[_Ctx, Any], list[Any]],
    leaves: Callable[[Any], list[tuple[Path, Any]]],
    must_reject: bool | None = None,
) -> Mutation:
    def mutate(c: _Ctx) -> FuzzCase | None:
        candidates = [(p, v) for p, v in leaves(c.body) if options(c, v)]
        if not candidates:
            return None
        path, value = c.pick(candidates)
        new = c.pick(options(c, value))
        shown = repr(new) if len(repr(new)) < 60 else f"{type(new).__name__} of {len(new)}"
        return c.with_body(_set(c.body, path, new), f"{_dotted(path)} = {shown}", must_reject)

    return mutate


def _truncated(c: _Ctx) -> FuzzCase:
    cut = c.rng.randrange(1, len(c.case.body))
    return c.with_body(c.case.body[:cut], f"cut at byte {cut} of {len(c.case.body)}", True)


def _garbage(c: _Ctx) -> FuzzCase:
    return c.with_body(c.rng.randbytes(c.rng.randrange(1, 300)), "random bytes", True)


def _empty(c: _Ctx) -> FuzzCase:
    raw = c.pick((b"", b" ", b"\n", b"\x00"))
    return c.with_body(raw, f"body {raw!r}", True)


def _not_an_object(c: _Ctx) -> FuzzCase:
    raw = c.pick((b"null", b"[]", b"42", b'"x"', b"true", b"[{}]", b"1e999"))
    return c.with_body(raw, f"body {raw.decode()}", True)


def _deep_nesting(c: _Ctx) -> FuzzCase:
    depth = c.pick((200, 1_000, 10_000, 100_000))
    shape = c.pick(("array", "object", "in a field"))
    nested = b"[" * depth + b"]" * depth if shape != "object" else b'{"a":' * depth + b"1" + b"}" * depth
    if shape == "in a field":
        path, _ = c.pick(_string_leaves(c.body) or [(("x",), None)])
        return c.splice(path, nested, f"{_dotted(path)} = [...] nested {depth} deep")
    return c.with_body(nested, f"{shape} nested {depth} deep", True)


def _huge_body(c: _Ctx) -> FuzzCase:
    # Around the body limit (`huge_bytes`, the hub's own by default): from half of it to twice it.
    size = c.rng.randrange(c.huge_bytes // 2, 2 * c.huge_bytes + 1)
    how = c.pick(("whitespace", "unknown field", "string field"))
    if how == "whitespace":  # valid JSON, valid contract: only a size limit refuses it
        detail = f"{size} bytes of trailing whitespace"
        return c.with_body(c.case.body + b" " * size, detail, len(c.case.body) + size > c.huge_bytes)
    if how == "unknown field":
        return c.with_body(c.body | {"padding": "x" * size}, f"padding field of {size} bytes", True)
    path, _ = c.pick(_string_leaves(c.body))
    return c.with_body(_set(c.body, path, "x" * size), f"{_dotted(path)} of {size} bytes", True)


def _invalid_utf8(c: _Ctx) -> FuzzCase:
    path, value = c.pick(_string_leaves(c.body))
    raw = c.pick((b"\xff", b"\xc3\x28", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xfe\xff"))
    text = json.dumps(value if isinstance(value, str) else "abc")[1:-1].encode()
    return c.splice(path, b'"' + text + raw + b'"', f"{_dotted(path)} += bytes {raw!r}")


def _lone_surrogate(c: _Ctx) -> FuzzCase:
    path, value = c.pick(_string_leaves(c.body))
    piece = c.pick(("\ud800", "\udfff", "\ud83d", "\udc00x"))
    body = json.dumps(_set(c.body, path, _insert(value, piece, c.rng))).encode()  # ensure_ascii: as \udXXX
    return c.with_body(body, f"{_dotted(path)} += {piece!r} (escaped)", True)


def _non_standard_number(c: _Ctx) -> FuzzCase:
    path, _ = c.pick([*_int_leaves(c.body), *_string_leaves(c.body)])
    raw = c.pick((b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-0", b"0x10", b"01"))
    return c.splice(path, raw, f"{_dotted(path)} = {raw.decode()}")


def _huge_integer(c: _Ctx) -> FuzzCase:
    path, _ = c.pick([*_int_leaves(c.body), *_string_leaves(c.body)])
    digits = c.pick((20, 400, 5_000, 50_000))
    # The contract decides: a version is any integer (a huge one is merely stale, WSRC0013), and
    # a bounded field refuses it; either way it must never reach PostgreSQL and fault there.
    return c.splice(path, b"9" * digits, f"{_dotted(path)} = an integer of {digits} digits", None)


def _duplicate_key(c: _Ctx) -> FuzzCase | None:
    if not isinstance(c.body, dict) or not c.body:
        return None
    key = c.pick(sorted(c.body))
    first, second = json.dumps(c.body[key]), json.dumps(c.pick((None, "x", 0, [], {})))
    if c.rng.random() < 0.5:
        first, second = second, first
    rest = json.dumps({k: v for k, v in c.body.items() if k != key})[1:-1]
    raw = f'{{"{key}": {first}, {rest}{", " if rest else ""}"{key}": {second}}}'.encode()
    return c.with_body(raw, f"{key!r} twice: {first[:30]} then {second[:30]}")


def _encoding(c: _Ctx) -> FuzzCase:
    how = c.pick(("utf-8 BOM", "utf-16", "utf-32", "latin-1 name"))
    text = c.case.body.decode()
    if how == "utf-8 BOM":
        raw = b"\xef\xbb\xbf" + c.case.body
    elif how == "latin-1 name":
        raw = json.dumps(c.body, ensure_ascii=False).replace('"Amira"', '"Amíra"').encode("latin-1", "replace")
    else:
        raw = text.encode(how)
    return c.with_body(raw, f"body encoded as {how}")


_BAD_DATES = [
    "2008-02-30",
    "2008-13-01",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "2008-4-12",
    "12/04/2008",
    "2008-04-12T10:00:00",
    "+002008-04-12",
    20080412,
    "1900-01-01",
    "2008-04-12 ",
    "",
]
_BAD_DATETIMES = [
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2026-01-01T00:00:00+25:00",
    "2026-01-01",
    "2026-13-01T00:00:00Z",
    1767225600,
    "now",
]


def _bad_dates(c: _Ctx, v: Any) -> list[Any]:
    if not isinstance(v, str) or not _DATE.match(v):
        return []
    return _BAD_DATETIMES if "T" in v else _BAD_DATES


def _bad_identifiers(c: _Ctx, v: Any) -> list[Any]:
    if v == c.orgs.uln:
        return [
            "0000000000",
            "1234567890",
            "9999999999",
            "1000000063",
            "１２３４５６７８９０",
            f" {v}",
            f"{v}\n",
            v[:9],
        ]
    if isinstance(v, str) and re.fullmatch(r"[0-9]{6,8}", v):  # an organisation id
        return [c.orgs.awarding if v != c.orgs.awarding else c.orgs.provider, "00000000", "123456789", "1003048"]
    if isinstance(v, str) and re.fullmatch(r"[0-9a-f-]{36}", v):  # an event, challenge or notice id
        return [v.upper(), "not-a-uuid", "00000000-0000-0000-0000-000000000000", v[:-1], "{" + v + "}"]
    return []


def _bad_codes(c: _Ctx, v: Any) -> list[Any]:
    if isinstance(v, int) and not isinstance(v, bool):
        return [3, 42, -1, 1000, 998]
    if isinstance(v, str) and len(v) < 25 and not _DATE.match(v) and not v.isdigit():
        return [v.upper(), v.lower() + "x", "", " " + v, v + "\u200b"]
    return []


def _other_type(v: Any) -> list[Any]:
    return [x for x in (None, True, 0, -1, 1.5, "", "1", [], {}, ["x"], {"a": 1}) if type(x) is not type(v)]


def _unknown_field(c: _Ctx) -> FuzzCase:
    path, target = c.pick(list(_dicts(c.body)))
    name = c.pick(("shoe_size", "__proto__", "ukprn ", "", "$where", "x" * 1000, "Given_Name", "uln\x00"))
    return c.with_body(
        _set(c.body, path, target | {name: c.pick((1, "x", None, {"a": []}))}), f"{_dotted(path)} gains {name[:20]!r}"
    )


def _some_field(c: _Ctx) -> tuple[Path, dict[str, Any], str] | None:
    """A field of the body, picked at random: the object it is in (and where), and its key."""
    keyed = [(p, d) for p, d in _dicts(c.body) if d]
    if not keyed:
        return None
    path, target = c.pick(keyed)
    return path, target, c.pick(sorted(target))


def _missing_field(c: _Ctx) -> FuzzCase | None:
    if (picked := _some_field(c)) is None:
        return None
    path, target, key = picked
    return c.with_body(
        _set(c.body, path, {k: v for k, v in target.items() if k != key}), f"{_dotted((*path, key))} removed"
    )


def _renamed_field(c: _Ctx) -> FuzzCase | None:
    if (picked := _some_field(c)) is None:
        return None
    path, target, key = picked
    new = c.pick((key.upper(), key.replace("_", ""), key + "_", "".join(w.title() for w in key.split("_"))))
    renamed = {new if k == key else k: v for k, v in target.items()}
    return c.with_body(_set(c.body, path, renamed), f"{_dotted((*path, key))} renamed {new!r}")


def _oversized_list(c: _Ctx) -> FuzzCase | None:
    lists = [(p, v) for p, v in _leaves_and_lists(c.body) if isinstance(v, list)]
    if not lists:
        return None
    path, value = c.pick(lists)
    n = c.pick((0, 1001, 5001))
    item = value[0] if value else c.orgs.uln
    return c.with_body(_set(c.body, path, [item] * n), f"{_dotted(path)} with {n} items")


def _leaves_and_lists(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves_and_lists(v, (*path, k))
    elif isinstance(value, list):
        yield path, value


# ---- AMQP properties, routing and senders
def _message_id(options: tuple[Any, ...], must_reject: bool) -> Mutation:
    def mutate(c: _Ctx) -> FuzzCase:
        mid = c.pick(options)
        return c.changed(f"message_id {mid!r}"[:80], must_reject, message_id=mid)

    return mutate


def _reused_id(same_sender: bool) -> Mutation:
    def mutate(c: _Ctx) -> FuzzCase | None:
        pool = [
            e
            for e in c.earlier[-500:]
            if e.message_id and (e.sender == c.case.sender) == same_sender and e.expect == HUB and e.body != c.case.body
        ]
        if not pool:
            return None
        other = c.pick(pool)
        return c.changed(f"message_id of {other.case_id} ({other.sender})", False, message_id=other.message_id)

    return mutate


def _amqp_type(c: _Ctx) -> FuzzCase:
    kind = c.pick(
        (
            None,
            "learner.register.v2",
            "",
            "LEARNER.REGISTER.V1",
            f"{c.case.base_type} ",
            "x" * 255,
            f"{c.case.base_type}\x00",
            "achievements.recorded.v1",
            "message.rejected.v1",
            RawStr(b"learner.register.v1\xff"),
        )
    )
    return c.changed(f"type {kind!r}"[:80], True, amqp_type=kind)


def _type_of_another_request(c: _Ctx) -> FuzzCase:
    other = c.pick(sorted(t for t in REQUESTS if t != c.case.base_type))
    if c.rng.random() < 0.5:  # the routing key still says the real type: the two disagree
        return c.changed(f"type {other} (routing key says {c.case.base_type})", True, amqp_type=other)
    key = f"{c.case.sender}.{other}"
    return c.changed(
        f"type and routing key {other}", not contract_accepts(other, c.case.body), amqp_type=other, routing_key=key
    )


def _content_type(c: _Ctx) -> FuzzCase:
    ct = c.pick((None, "text/plain", "application/xml", "application/json; charset=utf-16", "x" * 200, ""))
    enc = c.pick((None, None, "gzip", "deflate", "identity"))
    return c.changed(
        f"content_type {ct!r}, content_encoding {enc!r}"[:80], False, content_type=ct, content_encoding=enc
    )


def _property_invalid_utf8(c: _Ctx) -> FuzzCase:
    which = c.pick(("message_id", "content_type", "amqp_type"))
    raw = RawStr(b"\xff\xfe" + c.rng.randbytes(4).hex().encode())
    if which == "message_id" and c.rng.random() < 0.3:  # as long as a short string may be: 765 bytes as U+FFFD
        raw = RawStr(b"\xff" * 255)
    # The hub reads every body as JSON whatever its content_type says (see "prop.content_type").
    return c.changed(f"{which} with invalid UTF-8 {raw.raw!r}", which != "content_type", **{which: raw})


def _user_id_missing(c: _Ctx) -> FuzzCase:
    return c.changed("no user_id", True, user_id=None, expect=NO_ANSWER)


def _user_id_spoofed(c: _Ctx) -> FuzzCase:
    victim = c.pick([o for o in c.orgs.answering() if o != c.case.sender])
    return c.changed(f"user_id {victim}", True, user_id=victim, expect=BROKER_REFUSES)


def _routing_key_of_another_org(c: _Ctx) -> FuzzCase:
    victim = c.pick([o for o in c.orgs.answering() if o != c.case.sender])
    return c.changed(f"routing key {victim}.…", True, routing_key=f"{victim}.{c.case.base_type}", expect=BROKER_REFUSES)


def _routing_key_mismatch(c: _Ctx) -> FuzzCase:
    family = c.case.base_type.split(".")[0]
    others = sorted(t for t in REQUESTS if t != c.case.base_type)
    other = c.pick([t for t in others if t.split(".")[0] == family] or others)
    return c.changed(f"routing key says {other}", True, routing_key=f"{c.case.sender}.{other}")


def _unroutable(c: _Ctx) -> FuzzCase:
    # No binding takes it: lrs.inbound's alternate exchange brings it to the hub, which answers;
    # but the bare id is outside the sender's topic permission (`<org>.`), refused by the broker.
    key = c.pick((f"{c.case.sender}.nowhere.v1", c.case.sender, f"{c.case.sender}..", f"{c.case.sender}.#"))
    expect = BROKER_REFUSES if key == c.case.sender else HUB
    return c.changed(f"routing key {key}", True, routing_key=key, expect=expect)


def _wrong_kind(c: _Ctx) -> FuzzCase:
    allowed = {c.orgs.of_kind(k) for k in HANDLERS[c.case.base_type].senders}
    sender = c.pick(sorted({c.orgs.provider, c.orgs.awarding, c.orgs.partner, c.orgs.portal} - allowed))
    body = _substitute(c.body, c.orgs, sender)
    return c.with_body(
        body,
        f"sent by {sender}, a kind that may not",
        True,
        sender=sender,
        routing_key=f"{sender}.{c.case.base_type}",
        user_id=sender,
    )


def _sender(role: str) -> Mutation:
    def mutate(c: _Ctx) -> FuzzCase:
        sender = getattr(c.orgs, role)
        expect = NO_ANSWER if role == "unregistered" else HUB
        return c.with_body(
            _substitute(c.body, c.orgs, sender),
            f"sent by the {role} {sender}",
            True,
            sender=sender,
            routing_key=f"{sender}.{c.case.base_type}",
            user_id=sender,
            expect=expect,
        )

    return mutate


# ---- headers: the LRS batch headers, forged x-lrs-* headers, garbage
def _batch_headers(c: _Ctx, batch_id: Any = None, row: Any = 1, rows: Any = 3) -> dict[str, Any]:
    stamp = f"{c.rng.randrange(1, 29):02d}{c.rng.randrange(1, 13):02d}2026{c.rng.randrange(2400):04d}"
    return {
        BATCH_ID_HEADER: f"LRB_{c.case.sender}_{stamp}" if batch_id is None else batch_id,
        BATCH_ROW_HEADER: row,
        BATCH_ROWS_HEADER: rows,
    }


def _with_headers(c: _Ctx, headers: dict[str, Any], detail: str, must_reject: bool) -> FuzzCase:
    return c.changed(detail[:100], must_reject, headers=c.case.headers | headers)


def _batch_row(mutate: Callable[[_Ctx], FuzzCase]) -> Mutation:
    """Broken batch headers, on a registration (a batch file's row) half of the time.

    Only registrations come from batch files; on other types the hub may ignore the headers, so
    there they must only never fault.
    """

    def on_a_row(c: _Ctx) -> FuzzCase:
        if c.rng.random() < 0.5:
            row = replace(valid_case("learner.register.v1", c.orgs, c.rng, c.case.case_id), mutation=c.case.mutation)
            c = replace(c, case=row, body=json.loads(row.body))
        case = mutate(c)
        return replace(case, must_reject=case.must_reject and case.base_type == "learner.register.v1")

    return on_a_row


def _batch_invalid_utf8(c: _Ctx) -> FuzzCase:
    bad = RawStr(f"LRB_{c.case.sender}_".encode() + b"\xff\xfe0101202612")
    which = c.pick((BATCH_ID_HEADER, BATCH_ROW_HEADER, BATCH_ROWS_HEADER))
    value = bad if which == BATCH_ID_HEADER else RawStr(b"1\xff")
    return _with_headers(c, _batch_headers(c) | {which: value}, f"{which} with invalid UTF-8", True)


def _batch_numbers(c: _Ctx) -> FuzzCase:
    row, rows = c.pick(
        (
            (0, 3),
            (-1, 3),
            (4, 3),
            (1, 0),
            (1, -5),
            (2**31, 2**31),
            (1, 2**31),
            (2**63 - 1, 2**63 - 1),
            (-(2**63), 3),
            (10**12, 10**12),
            (1, 5001),
            ("99999999999999999999", "1"),
        )
    )
    return _with_headers(c, _batch_headers(c, row=row, rows=rows), f"batch row {row} of {rows}", True)


def _batch_types(c: _Ctx) -> FuzzCase:
    value = c.pick(
        (
            "abc",
            "1.5",
            1.5,
            True,
            None,
            [1],
            {"a": 1},
            bytearray(b"1"),
            Decimal("1.5"),
            datetime(2026, 1, 1, tzinfo=UTC),
            "",
            " 1",
            "1e3",
            "١",
        )
    )
    which = c.pick((BATCH_ID_HEADER, BATCH_ROW_HEADER, BATCH_ROWS_HEADER))
    return _with_headers(c, _batch_headers(c) | {which: value}, f"{which} = {value!r}", True)


def _batch_id(c: _Ctx) -> FuzzCase:
    own = f"LRB_{c.case.sender}_"
    bid = c.pick(
        (
            own + "9" * 10_000,
            "x" * 10_240,
            own + "abc",
            own,
            f"lrb_{c.case.sender}_010120261200",
            own + "010120261200\x00",
            own + "010120261200/../../etc",
            own + "010120261200\n",
            f"LRB_{_another(c)}_010120261200",
        )
    )
    return _with_headers(c, _batch_headers(c, batch_id=bid), f"batch id {bid[:40]!r} ({len(bid)} chars)", True)


def _another(c: _Ctx) -> str:
    return c.orgs.awarding if c.case.sender != c.orgs.awarding else c.orgs.provider


def _batch_partial(c: _Ctx) -> FuzzCase:
    full = _batch_headers(c)
    keep = c.pick(((BATCH_ID_HEADER,), (BATCH_ROW_HEADER, BATCH_ROWS_HEADER), (BATCH_ID_HEADER, BATCH_ROW_HEADER)))
    return _with_headers(c, {k: full[k] for k in keep}, f"only {', '.join(keep)}", False)


def _forged_lrs_headers(c: _Ctx) -> FuzzCase:
    victim = c.pick([o for o in c.orgs.answering() if o != c.case.sender])
    forged = {
        "x-lrs-sender": victim,
        "x-lrs-routing-key": f"{victim}.{c.case.base_type}",
        "x-lrs-queue": c.pick(("lrs.records", "lrs.feeds", "lrs.out." + victim)),
        "x-lrs-consumer": "lrs.feeds",
        "x-lrs-dead-letter-reason": "forged",
        "x-lrs-dead-lettered-at": "2026-01-01T00:00:00+00:00",
        "x-death": [{"reason": "rejected", "queue": "lrs.registration", "count": 99}],
    }
    keys = c.rng.sample(sorted(forged), c.rng.randrange(1, len(forged) + 1))
    return _with_headers(c, {k: forged[k] for k in keys}, f"forged {', '.join(keys)} naming {victim}", False)


def _garbage_headers(c: _Ctx) -> FuzzCase:
    how = c.pick(("many", "long value", "deep table", "odd names", "invalid UTF-8 value", "invalid UTF-8 name"))
    if how == "many":
        headers: dict[str, Any] = {f"h{i}": i for i in range(500)}
    elif how == "long value":
        headers = {"x-note": "y" * 50_000}
    elif how == "deep table":
        nested: dict[str, Any] = {"v": 1}
        for _ in range(40):
            nested = {"t": nested}
        headers = {"x-deep": nested}
    elif how == "odd names":
        headers = {"": 1, "ünï": "x", "x-lrs-": "y", "\x00": "z"}
    elif how == "invalid UTF-8 value":
        headers = {"x-note": RawStr(b"\xff\xfe\xfd")}
    else:  # the hub cannot read the table at all, so it cannot know the message is fine: it refuses it
        return _with_headers(c, {RawStr(b"x-\xff\xfe"): 1}, f"headers: {how}", True)
    # Headers the hub does not read may be ignored, even undecodable ones: it must only never fault.
    return _with_headers(c, headers, f"headers: {how}", False)


# The catalogue, by name: the name is what a report groups faults by.
_NUL, _CONTROL = ("\x00", "\x00\x00\x00"), ("\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f")
MUTATIONS: dict[str, Mutation] = {
    "json.truncated": _truncated,
    "json.garbage": _garbage,
    "json.empty": _empty,
    "json.not_an_object": _not_an_object,
    "json.deep_nesting": _deep_nesting,
    "json.huge_body": _huge_body,
    "json.invalid_utf8": _invalid_utf8,
    "json.lone_surrogate": _lone_surrogate,
    "json.non_standard_number": _non_standard_number,
    "json.huge_integer": _huge_integer,
    "json.duplicate_key": _duplicate_key,
    "json.encoding": _encoding,
    "value.nul": _in_string(_NUL, True),
    "value.control_char": _in_string(_CONTROL, True),
    "value.line_break": _in_string(("\t", "\n", "\r", "\r\n", "\u2028", "\u0085"), None),
    "value.unicode_oddity": _in_string(
        ("\u202e", "\u200b", "\ufeff", "\ue000", "\uffff", "👩🏽‍🎓", "e\u0301", "１２３", "\U0010ffff"), None
    ),
    "value.oversized_string": _value(
        lambda c, v: ["X" * n for n in (36, 65, 129, 256, 1001, 4001, 65_536)], _string_leaves
    ),
    "value.empty_string": _value(lambda c, v: ["", "   ", "\u00a0", "\u3000"], _string_leaves),
    "value.wrong_type": _value(lambda c, v: _other_type(v), lambda b: [(p, v) for p, v in _leaves(b) if p]),
    # A float is not an integer code, even when the contract's int field takes 2.0 today.
    "value.float_for_int": _value(lambda c, v: [float(v), v + 0.5, 1e2, float(v) * 1e20], _int_leaves, True),
    "value.out_of_range_int": _value(
        lambda c, v: [-1, 0, 2**31, 2**63, 2**64, 10**30, -(2**63) - 1, 32768],
        lambda b: [
            (p, v)
            for p, v in _leaves(b)
            if p and (type(v) is int or (v is None and p[-1] in ("credits", "outcome", "limit")))
        ],
    ),
    "value.bad_date": _value(_bad_dates, _string_leaves),
    "value.bad_identifier": _value(_bad_identifiers, _string_leaves),
    "value.bad_code": _value(_bad_codes, lambda b: [(p, v) for p, v in _leaves(b) if p]),
    "field.unknown": _unknown_field,
    "field.missing": _missing_field,
    "field.renamed": _renamed_field,
    "field.null": _value(lambda c, v: [None] if v is not None else [], lambda b: [(p, v) for p, v in _leaves(b) if p]),
    "list.size": _oversized_list,
    "prop.message_id_missing": _message_id((None,), True),
    "prop.message_id_empty": _message_id(("",), True),
    "prop.message_id_garbage": _message_id(
        ("x", "1", "a" * 255, "../../../etc/passwd", "' OR 1=1 --", "ünïcödé", "id with spaces", "{{7*7}}", "%s%s%n"),
        False,
    ),
    "prop.message_id_control": _message_id(("\x00abc", "abc\x00", "\x1b[31mred", "a\nb", "\x7f"), True),
    "prop.message_id_reused": _reused_id(same_sender=True),
    "prop.message_id_of_another_org": _reused_id(same_sender=False),
    "prop.type": _amqp_type,
    "prop.type_of_another_request": _type_of_another_request,
    "prop.content_type": _content_type,
    "prop.invalid_utf8": _property_invalid_utf8,
    "prop.user_id_missing": _user_id_missing,
    "broker.user_id_spoofed": _user_id_spoofed,
    "broker.routing_key_of_another_org": _routing_key_of_another_org,
    "route.routing_key_mismatch": _routing_key_mismatch,
    "route.unroutable": _unroutable,
    "sender.wrong_kind": _wrong_kind,
    "sender.unregistered": _sender("unregistered"),
    "sender.suspended": _sender("suspended"),
    "header.batch_invalid_utf8": _batch_row(_batch_invalid_utf8),
    "header.batch_numbers": _batch_row(_batch_numbers),
    "header.batch_types": _batch_row(_batch_types),
    "header.batch_id": _batch_row(_batch_id),
    "header.batch_partial": _batch_partial,
    "header.forged_lrs": _forged_lrs_headers,
    "header.garbage": _garbage_headers,
}


def valid_case(message_type: str, orgs: Orgs, rng: random.Random, case_id: str = "valid") -> FuzzCase:
    """A valid request of `message_type` from an organisation allowed to send it."""
    senders = sorted(HANDLERS[message_type].senders)
    sender = orgs.of_kind(senders[rng.randrange(len(senders))])
    body = base_body(message_type, orgs, sender, rng)
    return FuzzCase(
        case_id,
        "none",
        "valid",
        message_type,
        sender,
        json.dumps(body).encode(),
        message_type,
        _uuid(rng),
        f"{sender}.{message_type}",
        sender,
        must_reject=False,
    )


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _resolve(case: FuzzCase, orgs: Orgs) -> FuzzCase:
    """Fill in what the contract decides: must the hub refuse it, and which bulk item is the bad one."""
    must_reject: bool | None = case.must_reject
    bad_item = None
    try:
        body = json.loads(case.body)
    except (ValueError, RecursionError):
        body = None
    if must_reject is None:
        must_reject = not contract_accepts(case.amqp_type, case.body)
    if isinstance(body, dict):
        if body.get("ukprn", case.sender) != case.sender:
            must_reject = True  # the body claims another organisation
        items = body.get("items")
        if case.amqp_type in BULK_TYPES and case.amqp_type == case.base_type and isinstance(items, list):
            # A bulk message with bad items is applied: each bad item is answered on its own.
            bad = [i for i, item in enumerate(items) if not item_accepts(case.amqp_type, item)]
            if len(bad) == 1 and 1 <= len(items) <= 1000 and set(body) <= {"items"}:
                bad_item = bad[0]
    return replace(case, must_reject=bool(must_reject), bad_item=bad_item)


def generate(
    count: int, seed: int, orgs: Orgs, huge_bytes: int = MAX_BODY_BYTES, only: tuple[str, ...] = ()
) -> list[FuzzCase]:
    """`count` bad messages over every request type and every mutation (see the module docstring).

    `huge_bytes` is the body size above which the hub must refuse a body unread (the README's 4 MiB,
    `hub.pipeline.inbound.MAX_BODY_BYTES`); oversized bodies go from half of it up to twice it.
    """
    rng = random.Random(seed)
    types = sorted(REQUESTS)
    names = [n for n in MUTATIONS if not only or n.startswith(only)]  # `only`: mutation name prefixes
    cases: list[FuzzCase] = []
    k = 0
    while len(cases) < count:
        name = names[k % len(names)]
        for attempt in range(len(types)):  # a mutation that does not fit a type tries the next type
            message_type = types[(k % len(names) + k // len(names) + attempt) % len(types)]
            valid = replace(valid_case(message_type, orgs, rng, f"f{len(cases):05d}"), mutation=name)
            ctx = _Ctx(rng, orgs, valid, json.loads(valid.body), huge_bytes, cases)
            mutated = MUTATIONS[name](ctx)
            if mutated is not None:
                cases.append(_resolve(mutated, orgs))
                break
        k += 1
    return cases

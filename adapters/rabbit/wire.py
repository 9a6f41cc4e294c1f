"""Reading AMQP frames that hold strings which are not UTF-8, without losing the connection.

AMQP short strings (message_id, type, content_type, a routing key, header names) may hold any
bytes, and RabbitMQ passes them on unchecked. pamqp decodes them strictly: one such property
raised inside aiormq's frame reader, which closed the hub's whole connection, so the message
went back to its queue and did it again until the delivery limit - any sender could take the
hub's consumers down that way (issue 9). pamqp offers no setting for it (it was fixed for long
strings only, which now come as bytes), so the two decoders involved are wrapped here, for
every AMQP connection of the process:

- a short string is decoded with U+FFFD for what is not UTF-8: such a message_id is not
  printable ASCII, so the hub refuses it (`hub.pipeline.inbound.InboundMessage.usable_id`);
- a header table the hub cannot decode is read as one header, UNDECODABLE_HEADERS, and the
  message is refused for it (its headers are lost: the frame holds nothing else readable).

`install()` is idempotent; `adapters/rabbit/__init__.py` calls it on import.
"""

import struct
from collections.abc import Callable
from typing import Any

import pamqp.decode

UNDECODABLE_HEADERS = "x-lrs-undecodable-headers"

_Decoder = Callable[[bytes], tuple[int, Any]]
_TABLE_LENGTH = struct.Struct(">I")


def _short_str(value: bytes) -> tuple[int, str]:
    try:
        length = value[0]
    except IndexError as e:  # as pamqp: the frame is short
        raise ValueError("Could not unpack short string value") from e
    return length + 1, value[1 : length + 1].decode("utf-8", "replace")


def _tolerant_table(strict: _Decoder) -> _Decoder:
    def table(value: bytes) -> tuple[int, Any]:
        try:
            return strict(value)
        except UnicodeDecodeError:
            # A table starts with its length in bytes, so the rest of the frame is still read right.
            (length,) = _TABLE_LENGTH.unpack_from(value)
            return _TABLE_LENGTH.size + length, {UNDECODABLE_HEADERS: True}

    table.tolerant = True  # type: ignore[attr-defined]
    return table


def install() -> None:
    """Make this process's AMQP decoding tolerate strings that are not UTF-8 (see the module)."""
    methods = pamqp.decode.METHODS
    methods["shortstr"] = _short_str
    if not getattr(methods["table"], "tolerant", False):
        methods["table"] = _tolerant_table(methods["table"])

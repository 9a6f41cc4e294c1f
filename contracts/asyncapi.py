"""Build the AsyncAPI 3.0.0 document of the hub's wire from the contract registries.

Everything about a message comes from its model (schema, docstring) and from
`contracts.examples`; this module only knows the topology of DESIGN.md ("Topology",
"Identity", "Message conventions"), so a new contract in a registry appears here untouched.
"""

import inspect
from collections.abc import Mapping
from typing import Any

from pydantic.json_schema import models_json_schema

from contracts.base import Contract

Registry = Mapping[str, type[Contract]]

DOCUMENT_VERSION = "1.0.0"  # of this description of the wire, not of any one contract
_AMQP = "0.3.0"  # AsyncAPI AMQP bindings version
_VHOST = "/"

_INFO = """\
How organisations exchange messages with the learner records hub over RabbitMQ.

Each organisation connects as its own RabbitMQ user, named by its UKPRN (learning providers)
or awarding-organisation id, sends requests to the `lrs.inbound` exchange and reads the hub's
answers from its own queue `lrs.out.<org>`. The operations are seen from the organisation's
side, except `publishEvents`, which the hub itself performs on `lrs.events`.

A published message type never changes incompatibly; a change that would break it is a new
message type with the next version (e.g. `learner.register.v2`).
"""

# Required on every message; {user} and the extra lines depend on who sends it.
_PROPERTIES = """\
**AMQP properties**, all required:
- `message_id`: a UUID, the same on every retry and re-publish of this message.
{correlation}- `type`: `{message_type}`.
- `content_type`: `application/json`.
- `timestamp`: when the message was created.
- `user_id`: {user}
- `delivery_mode`: 2 (persistent).
"""
_ORG_USER = (
    "the sending organisation's RabbitMQ user: its UKPRN or awarding-organisation id. RabbitMQ "
    "refuses a message whose `user_id` is not the connection's user; the hub takes the sender "
    "only from it, never from the body."
)
_HUB_USER = (
    "the hub's own RabbitMQ user, which RabbitMQ checks against the connection, so a receiver "
    "knows the message came from the hub."
)
_CORRELATION = "- `correlation_id`: the `message_id` of the request this answers.\n"


def build_document(
    requests: Registry, answers: Registry, events: Registry, examples: Mapping[str, Contract]
) -> dict[str, Any]:
    """Return the AsyncAPI document as plain data, ready to dump as YAML."""
    groups = (("request", requests), ("answer", answers), ("event", events))
    models = [model for _, registry in groups for model in registry.values()]
    # One schema set for all contracts, so definitions they share (Demographics, Gender)
    # appear once and every $ref points into components.schemas.
    refs, definitions = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    messages = {
        message_type: _message(kind, model, refs[(model, "validation")], examples.get(message_type))
        for kind, registry in groups
        for message_type, model in registry.items()
    }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Learner records hub", "version": DOCUMENT_VERSION, "description": _INFO},
        "defaultContentType": "application/json",
        "servers": {
            "rabbitmq": {
                "host": "127.0.0.1:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "The hub's RabbitMQ broker (vhost `/`).",
                "security": [{"$ref": "#/components/securitySchemes/organisationUser"}],
            }
        },
        "channels": _channels(requests, answers, events),
        "operations": _operations(requests, answers, events),
        "components": {
            "schemas": _asyncapi_schemas(definitions.get("$defs", {})),
            "messages": messages,
            "parameters": {
                "org": {
                    "description": "The organisation's UKPRN or awarding-organisation id, "
                    "which is also its RabbitMQ username.",
                    "examples": ["10030488", "100062"],
                }
            },
            "correlationIds": {
                "request": {
                    "description": "The AMQP `correlation_id` property: the request's `message_id`.",
                    "location": "$message.header#/correlation_id",
                }
            },
            "securitySchemes": {
                "organisationUser": {
                    "type": "userPassword",
                    "description": "Each organisation has its own RabbitMQ user, named by its "
                    "UKPRN or awarding-organisation id.",
                }
            },
        },
    }


def _asyncapi_schemas(schemas: Any) -> Any:
    """pydantic writes a union's discriminator the OpenAPI way (an object with a mapping);
    the AsyncAPI schema object takes the property name alone."""
    if isinstance(schemas, dict):
        return {
            k: v["propertyName"] if k == "discriminator" and isinstance(v, dict) else _asyncapi_schemas(v)
            for k, v in schemas.items()
        }
    if isinstance(schemas, list):
        return [_asyncapi_schemas(v) for v in schemas]
    return schemas


def _message(kind: str, model: type[Contract], payload: Mapping[str, Any], example: Contract | None) -> dict[str, Any]:
    """One message: the contract's schema, docstring, AMQP bindings and example."""
    doc = inspect.cleandoc(model.__doc__ or "")
    properties = _PROPERTIES.format(
        message_type=model.message_type,
        correlation=_CORRELATION if kind == "answer" else "",
        user=_ORG_USER if kind == "request" else _HUB_USER,
    )
    message: dict[str, Any] = {
        "name": model.message_type,
        "title": model.__name__,
        "summary": doc.split("\n", 1)[0],
        "description": f"{doc}\n\n{properties}",
        "contentType": "application/json",
        "payload": dict(payload),
    }
    if kind == "answer":
        message["correlationId"] = {"$ref": "#/components/correlationIds/request"}
    message["bindings"] = {"amqp": {"messageType": model.message_type, "bindingVersion": _AMQP}}
    if example is not None:
        message["examples"] = [
            {
                "name": model.__name__,
                "summary": f"An example {model.message_type}",
                "payload": example.model_dump(mode="json"),
            }
        ]
    return message


def _channel_messages(registry: Registry) -> dict[str, Any]:
    return {message_type: {"$ref": f"#/components/messages/{message_type}"} for message_type in registry}


def _exchange(name: str, kind: str) -> dict[str, Any]:
    """AMQP binding of a channel whose address is a routing key on exchange `name`."""
    exchange = {"name": name, "type": kind, "durable": True, "autoDelete": False, "vhost": _VHOST}
    return {"amqp": {"is": "routingKey", "exchange": exchange, "bindingVersion": _AMQP}}


def _channels(requests: Registry, answers: Registry, events: Registry) -> dict[str, Any]:
    return {
        "lrs.inbound": {
            "address": "{org}.{message_type}",
            "title": "lrs.inbound",
            "summary": "Requests from organisations to the hub.",
            "description": "Topic exchange `lrs.inbound`. An organisation publishes with routing key "
            "`<org>.<message_type>`, where `<org>` is its UKPRN or awarding-organisation id: the same "
            "as its RabbitMQ username and the message's `user_id`.",
            "parameters": {
                "org": {"$ref": "#/components/parameters/org"},
                "message_type": {"description": "The message's AMQP `type`.", "enum": sorted(requests)},
            },
            "messages": _channel_messages(requests),
            "bindings": _exchange("lrs.inbound", "topic"),
        },
        "lrs.out": {
            "address": "lrs.out.{org}",
            "title": "lrs.out.{org}",
            "summary": "Each organisation's own queue of answers from the hub.",
            "description": "A durable quorum queue per organisation, fed by the direct exchange "
            "`lrs.outbound` with routing key `<org>`. Only that organisation's RabbitMQ user may "
            "read it; only the hub writes to `lrs.outbound`.",
            "parameters": {"org": {"$ref": "#/components/parameters/org"}},
            "messages": _channel_messages(answers),
            "bindings": {
                "amqp": {
                    "is": "queue",
                    "queue": {
                        "name": "lrs.out.{org}",
                        "durable": True,
                        "exclusive": False,
                        "autoDelete": False,
                        "vhost": _VHOST,
                    },
                    "bindingVersion": _AMQP,
                }
            },
        },
        "lrs.events": {
            "address": "{message_type}",
            "title": "lrs.events",
            "summary": "The hub's own domain events.",
            "description": "Topic exchange `lrs.events`, routing key = the event's message type. "
            "The hub publishes and consumes these itself; organisations have no access to it.",
            "parameters": {"message_type": {"description": "The event's AMQP `type`.", "enum": sorted(events)}},
            "messages": _channel_messages(events),
            "bindings": _exchange("lrs.events", "topic"),
        },
    }


def _refs(channel: str, registry: Registry) -> list[dict[str, str]]:
    return [{"$ref": f"#/channels/{channel}/messages/{message_type}"} for message_type in registry]


def _operations(requests: Registry, answers: Registry, events: Registry) -> dict[str, Any]:
    persistent = {"amqp": {"deliveryMode": 2, "timestamp": True, "bindingVersion": _AMQP}}
    return {
        "sendRequest": {
            "action": "send",
            "channel": {"$ref": "#/channels/lrs.inbound"},
            "title": "Send a request to the hub",
            "description": "An organisation publishes a request; the hub answers on the sender's own queue.",
            "messages": _refs("lrs.inbound", requests),
            "bindings": persistent,
            "reply": {"channel": {"$ref": "#/channels/lrs.out"}, "messages": _refs("lrs.out", answers)},
        },
        "receiveAnswers": {
            "action": "receive",
            "channel": {"$ref": "#/channels/lrs.out"},
            "title": "Receive the hub's answers",
            "description": "An organisation consumes its own queue and acknowledges each message "
            "once it has processed it; `correlation_id` names the request answered.",
            "messages": _refs("lrs.out", answers),
            "bindings": {"amqp": {"ack": True, "bindingVersion": _AMQP}},
        },
        "publishEvents": {
            "action": "send",
            "channel": {"$ref": "#/channels/lrs.events"},
            "title": "The hub publishes its domain events",
            "description": "Performed by the hub (not by organisations), with publisher confirms.",
            "messages": _refs("lrs.events", events),
            "bindings": {"amqp": {"deliveryMode": 2, "timestamp": True, "mandatory": True, "bindingVersion": _AMQP}},
        },
    }

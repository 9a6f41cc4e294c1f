"""RabbitMQ users, permissions and virtual hosts, through the management HTTP API.

Each organisation publishes as its own user: it may write only to `lrs.inbound`, only with
routing keys that start with its own id (topic permissions), and read only its own queue.
The broker checks the AMQP `user_id` against that user, which is what the hub trusts.

In a cluster every node serves the same management API: given several base URLs
(LRS_RABBIT_MANAGEMENT_URL, comma-separated), a call goes to the first that answers.
"""

import re
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from adapters.rabbit.topology import (
    COMMAND_QUEUES,
    DEAD_LETTER_QUEUE,
    FEEDS_QUEUE,
    UNROUTED_EXCHANGE,
    outbound_queue_name,
)
from hub.pipeline.routing import INBOUND_EXCHANGE

DEAD_LETTER_POLICY = "lrs-dead-letters"
COMMAND_QUEUE_POLICY = "lrs-commands"
UNROUTED_POLICY = "lrs-inbound-unrouted"
# lrs.dead has no dead-letter exchange: a letter past a delivery limit would be dropped.
# RabbitMQ 4 gives quorum queues a default limit of 20; reading a letter (`--peek`, a replay's
# scan) is a delivery, so the policy sets a limit no operator will reach (3.10 refuses -1).
_DEAD_LETTER_READS = 1_000_000


class BrokerAdminError(Exception):
    """Raised when the management API refuses or cannot be reached."""


@dataclass(frozen=True)
class Replicas:
    """Where a quorum queue's replicas are: its members, those of them online, and its leader."""

    queue: str
    members: tuple[str, ...]
    online: tuple[str, ...]
    leader: str | None


class BrokerAdmin:
    def __init__(self, base_url: str, user: str, password: str, vhost: str) -> None:
        self._bases = [u.strip().rstrip("/") + "/api" for u in base_url.split(",") if u.strip()]
        self._client = httpx.AsyncClient(auth=(user, password), timeout=10)
        self._vhost = quote(vhost, safe="")

    async def close(self) -> None:
        await self._client.aclose()

    async def _request(self, method: str, path: str, json: object = None) -> httpx.Response:
        """The first node's answer; a node that cannot be reached passes the call to the next."""
        error: httpx.TransportError | None = None
        for i, base in enumerate(self._bases):
            try:
                response = await self._client.request(method, base + path, json=json)
            except httpx.TransportError as e:
                error = e
                continue
            except httpx.HTTPError as e:  # not the node's absence: the next would fail alike
                raise BrokerAdminError(f"RabbitMQ management API: {e}") from e
            if i:  # the node that answered goes first from now on
                self._bases = self._bases[i:] + self._bases[:i]
            return response
        raise BrokerAdminError(f"RabbitMQ management API unreachable: {error}") from error

    async def _call(self, method: str, path: str, json: object = None) -> httpx.Response:
        response = await self._request(method, path, json)
        if response.status_code >= 400 and not (method == "DELETE" and response.status_code == 404):
            raise BrokerAdminError(f"{method} {path}: {response.status_code} {response.text}")
        return response

    async def nodes(self) -> list[str]:
        """The cluster's running nodes."""
        return sorted(n["name"] for n in (await self._call("GET", "/nodes")).json() if n.get("running"))

    async def replicas(self) -> list[Replicas]:
        """Every quorum queue of the hub's vhost, with where its replicas are."""
        queues = (await self._call("GET", f"/queues/{self._vhost}")).json()
        return [
            Replicas(
                q["name"], tuple(sorted(q.get("members", ()))), tuple(sorted(q.get("online", ()))), q.get("leader")
            )
            for q in queues
            if q.get("type") == "quorum"
        ]

    async def ensure_vhost(self) -> None:
        await self._call("PUT", f"/vhosts/{self._vhost}")

    async def delete_vhost(self) -> None:
        await self._call("DELETE", f"/vhosts/{self._vhost}")

    async def route_unrouted(self) -> None:
        """Have `lrs.inbound` pass what no binding takes to `lrs.unrouted` (adapters/rabbit/topology.py)."""
        definition: dict[str, object] = {"alternate-exchange": UNROUTED_EXCHANGE}
        await self._put_policy(UNROUTED_POLICY, f"^{re.escape(INBOUND_EXCHANGE)}$", definition, "exchanges")

    async def grant_full_access(self, user: str) -> None:
        """Give the hub's own user everything on its vhost."""
        await self._call(
            "PUT", f"/permissions/{self._vhost}/{quote(user)}", {"configure": ".*", "write": ".*", "read": ".*"}
        )

    async def add_organisation_user(self, org_id: str, password: str) -> None:
        """Create (or reset) an organisation's user with least-privilege permissions."""
        await self._call("PUT", f"/users/{quote(org_id)}", {"password": password, "tags": ""})
        own_queue = re.escape(outbound_queue_name(org_id))
        await self._call(
            "PUT",
            f"/permissions/{self._vhost}/{quote(org_id)}",
            {"configure": "^$", "write": f"^{re.escape(INBOUND_EXCHANGE)}$", "read": f"^{own_queue}$"},
        )
        await self._call(
            "PUT",
            f"/topic-permissions/{self._vhost}/{quote(org_id)}",
            {"exchange": INBOUND_EXCHANGE, "write": f"^{re.escape(org_id)}\\.", "read": "^$"},
        )

    async def set_password(self, user: str, password: str) -> None:
        """Change an organisation's password; its permissions stay as they are."""
        await self._call("PUT", f"/users/{quote(user)}", {"password": password, "tags": ""})

    async def close_connections_of(self, user: str) -> None:
        """Close every connection the user has open (on any vhost).

        By user name rather than one by one: the broker tracks a user's connections at once,
        while the per-connection resource appears only with the next statistics interval.
        """
        await self._call("DELETE", f"/connections/username/{quote(user)}")

    async def limit_dead_letters(self, keep_days: int, max_letters: int) -> None:
        """Give lrs.dead an expiry and a length limit that drop nothing silently (safe to repeat).

        Past `max_letters` (a quorum queue keeps one more) the broker refuses new letters
        (`reject-publish`): the hub's copy is nacked to the hub, which leaves the original on
        its queue and logs an error; the broker's own dead-lettering from the command queues is
        `at-least-once`, so a letter it cannot deliver stays in the command queue until there
        is room. Letters expire after `keep_days`; the hub warns first (dead_letter_index.py).
        """
        await self._put_policy(
            DEAD_LETTER_POLICY,
            f"^{re.escape(DEAD_LETTER_QUEUE)}$",
            {
                "message-ttl": keep_days * 86_400_000,
                "max-length": max_letters,
                "overflow": "reject-publish",
                "delivery-limit": _DEAD_LETTER_READS,
            },
        )
        queues = "|".join(re.escape(q) for q in (*COMMAND_QUEUES, FEEDS_QUEUE))
        # reject-publish is at-least-once dead-lettering's condition; these queues have no
        # length limit, so nothing published to them is ever refused for it.
        await self._put_policy(
            COMMAND_QUEUE_POLICY,
            f"^({queues})$",
            {"dead-letter-strategy": "at-least-once", "overflow": "reject-publish"},
        )

    async def policy(self, name: str) -> dict[str, object] | None:
        """A policy's definition on the hub's vhost, or None."""
        response = await self._request("GET", f"/policies/{self._vhost}/{quote(name, safe='')}")
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise BrokerAdminError(f"GET policy {name}: {response.status_code} {response.text}")
        definition: dict[str, object] = response.json()["definition"]
        return definition

    async def _put_policy(
        self, name: str, pattern: str, definition: dict[str, object], apply_to: str = "queues"
    ) -> None:
        await self._call(
            "PUT",
            f"/policies/{self._vhost}/{quote(name, safe='')}",
            {"pattern": pattern, "apply-to": apply_to, "priority": 10, "definition": definition},
        )

    async def delete_user(self, user: str) -> None:
        await self._call("DELETE", f"/users/{quote(user)}")

"""RabbitMQ users, permissions and virtual hosts, through the management HTTP API.

Each organisation publishes as its own user: it may write only to `lrs.inbound`, only with
routing keys that start with its own id (topic permissions), and read only its own queue.
The broker checks the AMQP `user_id` against that user, which is what the hub trusts.
"""

import re
from urllib.parse import quote

import httpx

from adapters.rabbit.topology import UNROUTED_EXCHANGE, outbound_queue_name
from hub.routing import INBOUND_EXCHANGE


class BrokerAdminError(Exception):
    """Raised when the management API refuses or cannot be reached."""


class BrokerAdmin:
    def __init__(self, base_url: str, user: str, password: str, vhost: str) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/") + "/api", auth=(user, password), timeout=10)
        self._vhost = quote(vhost, safe="")

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, json: object = None) -> httpx.Response:
        try:
            response = await self._client.request(method, path, json=json)
        except httpx.HTTPError as e:
            raise BrokerAdminError(f"RabbitMQ management API unreachable: {e}") from e
        if response.status_code >= 400 and not (method == "DELETE" and response.status_code == 404):
            raise BrokerAdminError(f"{method} {path}: {response.status_code} {response.text}")
        return response

    async def ensure_vhost(self) -> None:
        await self._call("PUT", f"/vhosts/{self._vhost}")

    async def delete_vhost(self) -> None:
        await self._call("DELETE", f"/vhosts/{self._vhost}")

    async def route_unrouted(self) -> None:
        """Have `lrs.inbound` pass what no binding takes to `lrs.unrouted` (adapters/rabbit/topology.py)."""
        await self._call(
            "PUT",
            f"/policies/{self._vhost}/lrs-inbound-unrouted",
            {"pattern": f"^{re.escape(INBOUND_EXCHANGE)}$", "apply-to": "exchanges",
             "definition": {"alternate-exchange": UNROUTED_EXCHANGE}},
        )  # fmt: skip

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

    async def delete_user(self, user: str) -> None:
        await self._call("DELETE", f"/users/{quote(user)}")

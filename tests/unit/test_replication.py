"""What `hub broker replicas` and the hub's start report about quorum queues' replicas."""

from adapters.rabbit.admin import Replicas
from adapters.rabbit.replication import shortfalls

NODES = ["a@h", "b@h", "c@h"]


def _queue(members: list[str], online: list[str] | None = None, leader: str | None = "a@h") -> Replicas:
    return Replicas("lrs.registration", tuple(members), tuple(members if online is None else online), leader)


def test_three_replicas_online_on_three_nodes_are_enough() -> None:
    assert shortfalls([_queue(NODES)], NODES) == []


def test_a_queue_declared_before_nodes_joined_is_short() -> None:
    assert shortfalls([_queue(["a@h"])], NODES) == ["lrs.registration: 1 replica(s) of the 3 wanted (a@h)"]


def test_a_replica_on_a_stopped_node_is_reported_offline() -> None:
    assert shortfalls([_queue(NODES, ["a@h", "b@h"])], NODES) == ["lrs.registration: replica(s) offline on c@h"]


def test_no_more_replicas_are_wanted_than_there_are_nodes_nor_more_than_three() -> None:
    assert shortfalls([_queue(["a@h"])], ["a@h"]) == []
    assert shortfalls([_queue(NODES)], [*NODES, "d@h", "e@h"]) == []


def test_a_queue_without_a_leader_is_reported() -> None:
    assert shortfalls([_queue(NODES, leader=None)], NODES) == ["lrs.registration: no leader"]

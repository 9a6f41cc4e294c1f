"""A few hundred of the fuzz campaign's bad messages (bench/fuzzing.py) against a real `hub serve`.

The same generator and classifier as `bench/fuzz.py`, at a size that fits in the suite: every
mutation and every request type appear (the generator covers both within its first cases).
"""

from adapters.settings import Settings
from bench.fuzz import Options, campaign
from bench.fuzzing import MUTATIONS
from contracts import REQUESTS
from hub.pipeline.inbound import MAX_BODY_BYTES

# Fewer retries than the hub's default: a message that faults is a fault at its first failure.
OPTIONS = Options(count=300, seed=9, huge_bytes=MAX_BODY_BYTES, delivery_limit=2, quiet_s=15, timeout_s=90)


async def test_bad_messages_are_refused_without_faults_and_nothing_of_them_is_applied(settings: Settings) -> None:
    """Every bad message is answered or dead-lettered with a reason; none faults or is applied; the hub lives."""
    report = await campaign(OPTIONS, settings)

    problems = {
        "faulted": report["faulted"],
        "wrongly_applied": report["wrongly_applied"],
        "known_sender_unanswered": report["known_sender_unanswered"],
        "rejected_not_dead_lettered": report["rejected_not_dead_lettered"],
        "broker_expectations_missed": report["broker_expectations_missed"],
        "hub_alive": report["hub_alive"],
    }
    assert (report["mutations"], report["message_types"]) == (len(MUTATIONS), len(REQUESTS))
    assert problems == {
        "faulted": 0,
        "wrongly_applied": 0,
        "known_sender_unanswered": 0,
        "rejected_not_dead_lettered": 0,
        "broker_expectations_missed": 0,
        "hub_alive": True,
    }, {k: report[k] for k in ("fault_classes", "wrongly_applied_classes", "lost_classes", "hub_tracebacks")}

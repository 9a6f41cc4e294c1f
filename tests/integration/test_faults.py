"""The fault harness's short version (bench/faults.py --short): two hubs on a three-node RabbitMQ
cluster and a replicated PostgreSQL, all private; under load, the only hub in a crash loop, and
the hubs' broker node killed.
Nothing lost, nothing applied twice, no good message dead-lettered, no manual step, the quorum
queues on three nodes, the audit chain intact (issue 12)."""

import pytest

from bench.faults import TOTALS, run


@pytest.mark.timeout(600)
async def test_nothing_is_lost_or_applied_twice_whatever_fails() -> None:
    result = await run([], short=True, seed=12)

    failed = [s for s in result["scenarios"] if not s["passed"]]
    assert failed == []
    assert len(result["scenarios"]) == 2
    assert all(s["requests"] >= 20 and s["achievements"] >= 40 for s in result["scenarios"])  # there was load
    assert {k: result[k] for k in TOTALS} == dict.fromkeys(TOTALS, 0)
    assert result["audit_verifies"] and result["passed"]

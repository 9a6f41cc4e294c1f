"""An MIS registers learners with a running hub, using a plain AMQP client and the `hub` CLI.

Nothing here imports the hub's code: requests are built by hand, as an MIS vendor would from
the README, and answers are read from the provider's own queue.
"""

import asyncio
import csv
import json
import random
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg

from tests.conftest import new_ukprn
from tests.e2e.conftest import Cli, StartHub

LEARNER = {
    "given_name": "Oliver",
    "family_name": "Bennett",
    "date_of_birth": "2009-02-03",
    "gender": 1,
    "last_known_postcode": "LS1 4AP",
    "verification_type": 1,
}


def _random_name(rng: random.Random) -> str:
    return "".join(rng.choice("BCDFGKLMNPRSTVZ") + rng.choice("AEIOU") for _ in range(3)).capitalize()


def _check_digit_ok(uln: str) -> bool:
    total = sum(int(d) * w for d, w in zip(uln[:9], range(10, 1, -1), strict=True))
    r = total % 11
    return r != 0 and 10 - r == int(uln[9])


async def _publish(channel: aio_pika.abc.AbstractChannel, ukprn: str, kind: str, body: dict[str, Any]) -> str:
    message_id = str(uuid.uuid4())
    exchange = await channel.get_exchange("lrs.inbound", ensure=False)
    await exchange.publish(
        aio_pika.Message(
            json.dumps(body).encode(),
            message_id=message_id,
            type=kind,
            user_id=ukprn,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=f"{ukprn}.{kind}",
    )
    return message_id


async def _answers(channel: aio_pika.abc.AbstractChannel, ukprn: str, count: int) -> dict[str, dict[str, Any]]:
    """Collect `count` answers from the provider's queue, keyed by correlation_id."""
    queue = await channel.get_queue(f"lrs.out.{ukprn}", ensure=False)
    answers: dict[str, dict[str, Any]] = {}
    async with asyncio.timeout(60):
        while len(answers) < count:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            answers[message.correlation_id or ""] = json.loads(message.body)
    return answers


def _add_provider(hub_cli: Cli, ukprn: str) -> None:
    result = hub_cli("org", "add", ukprn, "--kind", "provider", "--name", "E2E College", "--password", "secret-pw")
    assert result.returncode == 0, result.stderr


async def test_mis_registers_and_finds_a_learner(start_hub: StartHub, hub_cli: Cli, hub_env: dict[str, str]) -> None:
    """Register, register again, and find by ULN: WSRC0005, then WSRC0004 twice, all with one ULN."""
    start_hub(1)
    ukprn = new_ukprn()
    _add_provider(hub_cli, ukprn)
    url = hub_env["LRS_AMQP_URL"].replace("guest:guest@", f"{ukprn}:secret-pw@")
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        first = await _publish(channel, ukprn, "learner.register.v1", {"ukprn": ukprn, "learner": LEARNER})
        uln = (await _answers(channel, ukprn, 1))[first]["uln"]
        again = await _publish(channel, ukprn, "learner.register.v1", {"ukprn": ukprn, "learner": LEARNER})
        found = await _publish(
            channel,
            ukprn,
            "learner.find_by_uln.v1",
            {"ukprn": ukprn, "uln": uln, "given_name": "OLIVER", "family_name": "bennett"},
        )
        answers = await _answers(channel, ukprn, 2)
    finally:
        await connection.close()

    assert _check_digit_ok(uln)
    assert [(answers[m]["response_code"], answers[m]["uln"]) for m in (again, found)] == [
        ("WSRC0004", uln),
        ("WSRC0004", uln),
    ]


async def test_several_hub_processes_never_issue_a_uln_twice(
    start_hub: StartHub, hub_cli: Cli, hub_env: dict[str, str]
) -> None:
    """Two hub processes registering 200 learners, one of them sent five times at once, issue 200 distinct ULNs."""
    start_hub(2)
    ukprn = new_ukprn()
    _add_provider(hub_cli, ukprn)
    url = hub_env["LRS_AMQP_URL"].replace("guest:guest@", f"{ukprn}:secret-pw@")
    # Distinct people: unrelated random names, different dates of birth and postcodes.
    rng = random.Random(7)
    learners = [
        LEARNER
        | {
            "given_name": _random_name(rng),
            "family_name": _random_name(rng),
            "date_of_birth": (date(1975, 1, 1) + timedelta(days=n * 53)).isoformat(),
            "last_known_postcode": f"LS{1 + n % 20} {1 + n % 9}AP",
        }
        for n in range(200)
    ]
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        sends = [_publish(channel, ukprn, "learner.register.v1", {"ukprn": ukprn, "learner": x}) for x in learners]
        repeated = [
            _publish(channel, ukprn, "learner.register.v1", {"ukprn": ukprn, "learner": learners[0]}) for _ in range(4)
        ]
        await asyncio.gather(*sends, *repeated)
        answers = await _answers(channel, ukprn, 204)
    finally:
        await connection.close()

    issued = [a["uln"] for a in answers.values() if a["response_code"] == "WSRC0005"]
    assert len(issued) == len(set(issued)) == 200
    assert all(_check_digit_ok(u) and u != "9999999999" for u in issued)
    assert sorted(a["response_code"] for a in answers.values()).count("WSRC0004") == 4
    conn = await asyncpg.connect(hub_env["LRS_DATABASE_URL"])
    try:
        assert await conn.fetchval("SELECT count(DISTINCT uln) FROM learner") == 200
    finally:
        await conn.close()


async def test_batch_file_through_the_cli(start_hub: StartHub, hub_cli: Cli, tmp_path: Path) -> None:
    """`hub batch submit` then `hub batch output`: a return code and reason per row, bad rows named, counts printed."""
    start_hub(1)
    ukprn = new_ukprn()
    _add_provider(hub_cli, ukprn)
    batch = tmp_path / f"LRB_{ukprn}_291120261530.CSV"
    batch.write_text(
        "MISIdentifier,GivenName,FamilyName,DateOfBirth,Gender,LastKnownPostCode,VerificationType\n"
        "A1,Oliver,Bennett,2009-02-03,1,LS1 4AP,1\n"
        "A2,Oliver,Bennett,2009-02-03,1,ls14ap,1\n"
        "A3,Priya,Sharma,2008-13-01,2,B1 1AA,1\n"
    )
    submitted = hub_cli("batch", "submit", str(batch), "--as", ukprn, extra_env={"LRS_ORG_PASSWORD": "secret-pw"})
    assert submitted.returncode == 0, submitted.stderr
    output = hub_cli("batch", "output", batch.stem, "--wait", "60")
    assert output.returncode == 0, output.stderr

    assert "new 1, existing 1, possible matches 0, not found 0, rejected 1 (3 of 3 rows answered)" in output.stdout
    path = output.stdout.strip().splitlines()[-1].removeprefix("output: ")
    with open(path, newline="") as handle:
        rows = [(r["RowNumber"], r["ReturnCode"], r["Reason"].split(" - ")[0][:39]) for r in csv.DictReader(handle)]
    # Rows 1 and 2 are the same learner, handled concurrently: whichever is first registers her.
    same_learner = sorted((code, reason) for _, code, reason in rows[:2])
    assert (same_learner, rows[2]) == (
        [("RC001", "Learner registered with a new ULN"), ("RC002", "Exact match")],
        ("3", "RC011", "invalid_contract: learner.date_of_birth"),
    )


def test_batch_file_with_a_bad_name_is_refused(hub_cli: Cli, tmp_path: Path) -> None:
    """A file not named LRB_<UKPRN>_DDMMYYYYHHMM.CSV is refused whole, before anything is sent."""
    batch = tmp_path / "learners.csv"
    batch.write_text("GivenName\nA\n")
    result = hub_cli("batch", "submit", str(batch), "--as", "10030488", extra_env={"LRS_ORG_PASSWORD": "x"})

    assert (result.returncode, "LRB_<UKPRN>_DDMMYYYYHHMM.CSV" in result.stderr) == (2, True)


def test_uln_check_exit_codes(hub_cli: Cli) -> None:
    """`hub uln check` exits 0 for a valid ULN and 1, saying why, for an invalid one."""
    valid, invalid = hub_cli("uln", "check", "9276308686"), hub_cli("uln", "check", "1000000063")

    assert (valid.returncode, invalid.returncode) == (0, 1)
    assert "remainder 0" in invalid.stderr


async def test_hub_logs_carry_no_learner_data_in_clear(
    start_hub: StartHub, hub_cli: Cli, hub_env: dict[str, str], tmp_path: Path
) -> None:
    """The hub logs each message, naming the learner only by a keyed hash: no name, birth date, postcode or ULN."""
    start_hub(1)
    ukprn = new_ukprn()
    _add_provider(hub_cli, ukprn)
    learner = LEARNER | {"given_name": "Xanthippe", "family_name": "Quarrington", "last_known_postcode": "YO1 7HH"}
    connection = await aio_pika.connect(hub_env["LRS_AMQP_URL"].replace("guest:guest@", f"{ukprn}:secret-pw@"))
    try:
        channel = await connection.channel(publisher_confirms=True)
        request = await _publish(channel, ukprn, "learner.register.v1", {"ukprn": ukprn, "learner": learner})
        uln = (await _answers(channel, ukprn, 1))[request]["uln"]
    finally:
        await connection.close()
    await asyncio.sleep(0.5)  # the log line is written just after the ack
    log = (tmp_path / "hub-0.log").read_text()

    handled = [json.loads(line) for line in log.splitlines() if '"message handled"' in line]
    assert [(h["message_id"], h["code"], len(h["uln"])) for h in handled] == [(request, "WSRC0005", 12)]
    for secret in ("Xanthippe", "Quarrington", "YO1 7HH", "2009-02-03", uln):
        assert secret not in log

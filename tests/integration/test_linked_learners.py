"""Duplicates found, merged and unmerged in the real register; answers follow the master."""

from datetime import date

from adapters.bootstrap import Hub
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from contracts.codes import Gender, VerificationType
from contracts.learner import LearnerDetails
from hub.kernel.model import Learner
from hub.register import linking
from tests.integration.conftest import OrgLogin
from tests.integration.mis import Mis, body


def _details(given: str, postcode: str) -> LearnerDetails:
    return LearnerDetails(
        given_name=given,
        family_name="Okafor",
        date_of_birth=date(2008, 4, 12),
        gender=Gender.FEMALE,
        last_known_postcode=postcode,
        verification_type=VerificationType.PASSPORT,
    )


async def test_duplicate_is_found_merged_and_answered_as_its_master(hub: Hub, provider: OrgLogin) -> None:
    """Two records of one learner are listed as likely duplicates; after a merge either ULN answers with the master."""
    master, duplicate = (
        Learner("9276308686", _details("Amelia", "SW1A 1AA")),
        Learner("1000000043", _details("Amelie", "SW1A 2AA")),
    )
    async with PostgresUnitOfWork(hub.pool) as uow:
        for learner in (master, duplicate):
            await uow.learners.add(learner, registered_by=provider.org.org_id)
            await uow.learners.link_provider(learner.uln, provider.org.org_id)
        await uow.commit()
    async with PostgresUnitOfWork(hub.pool) as uow:
        pairs = await linking.likely_duplicates(uow, await uow.learners.recent(10))
        merged = await linking.merge_learners(uow, master.uln, duplicate.uln)
        await uow.commit()
    ukprn = provider.org.org_id
    async with Mis(provider.amqp_url, ukprn) as mis:
        await mis.send(
            "learner.find_by_uln.v1",
            {"ukprn": ukprn, "uln": duplicate.uln, "given_name": "Amelia", "family_name": "Okafor"},
        )
        answer = body(await mis.answer())

    assert [(p.uln, p.other_uln) for p in pairs] == [("1000000043", "9276308686")]
    assert merged.applied
    assert (answer["response_code"], answer["uln"], answer["learner"]["linked_ulns"]) == (
        "WSRC0022",
        master.uln,
        [duplicate.uln],
    )
    async with PostgresUnitOfWork(hub.pool) as uow:
        assert (await linking.unmerge_learners(uow, master.uln, duplicate.uln)).applied
        await uow.commit()
    async with PostgresUnitOfWork(hub.pool) as uow:
        restored = await uow.learners.get(duplicate.uln)
        assert (restored and restored.status.value, restored and restored.master_uln) == ("active", None)

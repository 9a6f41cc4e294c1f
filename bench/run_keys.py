"""The secrets of one bench run. The hub refuses guessable keys, and a bench's database lives
only for its run, so each run makes its own (the data key is fixed: kept registers are
reused across runs and must still open)."""

import secrets
import tempfile
from pathlib import Path

from adapters.postgres.audit import use_chain_keys
from adapters.postgres.sealing import DetailsSealer, use_sealer
from hub.kernel.audit import ChainKeys

BENCH_DATA_KEY = "bench-synthetic-learners-only-not-a-secret"
AUDIT_KEY = secrets.token_hex(32)
AUDIT_HEADS = Path(tempfile.gettempdir()) / f"lrs-bench-audit-heads-{secrets.token_hex(4)}.jsonl"


def use_run_keys() -> None:
    """Seal and audit in this process as the bench's hub does (its own units of work write too)."""
    use_sealer(DetailsSealer(BENCH_DATA_KEY))
    use_chain_keys(ChainKeys(AUDIT_KEY))


def hub_keys() -> dict[str, str]:
    """The keys, as settings, for the hub the bench starts."""
    return {
        "log_hash_key": secrets.token_hex(32),  # pseudonyms that agree only within the run
        "data_key": BENCH_DATA_KEY,
        "audit_key": AUDIT_KEY,
        "audit_heads_file": str(AUDIT_HEADS),
    }

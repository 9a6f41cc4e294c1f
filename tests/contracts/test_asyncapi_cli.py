"""The official AsyncAPI CLI accepts contracts/asyncapi.yaml and rejects a broken copy of it."""

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "tools" / "node_modules" / ".bin" / "asyncapi"
DOCUMENT = REPO / "contracts" / "asyncapi.yaml"

# The CLI sends usage metrics unless its analytics file says no (and CI=true is not set), and
# checks the npm registry for a newer version: both would reach the network from a test.
CLI_ENV = {
    **os.environ,
    "ASYNCAPI_METRICS_CONFIG_PATH": str(REPO / "tools" / "asyncapi-analytics.json"),
    "ASYNCAPI_SKIP_NEW_VERSION_CHECK": "true",
}


def _validate(document: Path) -> subprocess.CompletedProcess[str]:
    if not CLI.exists():
        pytest.fail(f"{CLI} is missing: run `npm ci --prefix tools` first", pytrace=False)
    # --fail-severity warn: a warning (an unused component, a dangling reference) fails too.
    return subprocess.run(
        [str(CLI), "validate", str(document), "--fail-severity", "warn"],
        capture_output=True,
        text=True,
        env=CLI_ENV,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def test_asyncapi_document_is_valid() -> None:
    """`asyncapi validate contracts/asyncapi.yaml` exits 0."""
    result = _validate(DOCUMENT)
    assert result.returncode == 0, result.stdout + result.stderr


def _v2_action(document: dict[str, Any]) -> None:
    document["operations"]["sendRequest"]["action"] = "publish"


def _dangling_ref(document: dict[str, Any]) -> None:
    message = next(iter(document["components"]["messages"].values()))
    message["payload"] = {"$ref": "#/components/schemas/NoSuchSchema"}


@pytest.mark.parametrize("break_it", [_v2_action, _dangling_ref], ids=["asyncapi-2-action", "dangling-ref"])
def test_a_broken_copy_is_rejected(tmp_path: Path, break_it: Any) -> None:
    """The CLI really validates: a copy with one mistake fails."""
    document = yaml.safe_load(DOCUMENT.read_text())
    break_it(document)
    broken = tmp_path / "asyncapi.yaml"
    broken.write_text(yaml.safe_dump(document, sort_keys=False))
    result = _validate(broken)
    assert result.returncode != 0, result.stdout + result.stderr

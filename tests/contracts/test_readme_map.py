"""The README's map of hub/ is the folder tree: every package is there, with every module it holds."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _map() -> dict[str, str]:
    """Each package line of the README's map (`  name/  text...`) with its continuation lines."""
    readme = (REPO / "README.md").read_text()
    block = readme[readme.index("hub/                the core") :]
    block = block[: block.index("\nadapters/")]
    parts = re.split(r"\n  (\w+)/", block)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_package_of_hub_is_mapped_with_its_modules() -> None:
    mapped = _map()
    packages = {p.name: p for p in (REPO / "hub").iterdir() if (p / "__init__.py").exists()}
    assert set(mapped) == set(packages)
    missing = {
        f"{name}/{module.name}"
        for name, package in packages.items()
        for module in package.glob("*.py")
        if module.name != "__init__.py" and name != "disclosure" and module.name not in mapped[name]
    }
    assert missing == set()


def test_hub_has_no_module_outside_a_package() -> None:
    assert [p.name for p in (REPO / "hub").glob("*.py")] == ["__init__.py"]

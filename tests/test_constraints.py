"""Reproducible installs: every dependency the package, its tests and the bench declare is
pinned to one version in `constraints.txt`, which `scripts/dev.py` hands to pip."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_every_declared_dependency_is_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"]}
    for extra in ("test", "bench"):
        declared |= {_name(r) for r in project["optional-dependencies"][extra]}
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    unpinned = sorted(d for d in declared if not pins.get(d))
    assert not unpinned, f"not pinned in constraints.txt: {unpinned}"
    assert "tailwatch" not in pins  # the package itself is installed from the tree


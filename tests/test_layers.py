"""The architecture holds: each module imports only its own layer or those below, and no two
modules import each other, directly or around a circle (docs/architecture.md).

Imports are read with `ast` from every module's source, those inside functions included: a
lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Lowest first. A module belongs to the layer of its longest matching prefix.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("ground", ("tailwatch", "tailwatch.schema", "tailwatch.errors", "tailwatch.files", "tailwatch.times",
                "tailwatch.heard", "tailwatch.seen", "tailwatch.geo", "tailwatch.identity.icao_blocks",
                "tailwatch.identity.registrations")),
    ("readers", ("tailwatch.ingest", "tailwatch.archive", "tailwatch.archive_layout", "tailwatch.archive_lock",
                 "tailwatch.heard_store", "tailwatch.seen_store",
                 "tailwatch.identity.registry", "tailwatch.identity.store", "tailwatch.identity.sanctions",
                 "tailwatch.identity.watchlist", "tailwatch.identity.lookup", "tailwatch.identity.resolve",
                 "tailwatch.identity.ofac", "tailwatch.identity.ftm",
                 "tailwatch.identity.fleets")),
    ("core", ("tailwatch.identity", "tailwatch.itinerary", "tailwatch.airspace", "tailwatch.airlift",
              "tailwatch.hiding", "tailwatch.bridge")),
    ("engines", ("tailwatch.engines",)),
    ("writers", ("tailwatch.report", "tailwatch.alerts", "tailwatch.sim")),
    ("app", ("tailwatch.app",)),
    ("faces", ("tailwatch.cli", "tailwatch.web", "tailwatch.live", "tailwatch.demo", "tailwatch.terminal")),
]
RANK = {name: i for i, (name, _) in enumerate(LAYERS)}
# the pure core does no I/O: no engines, no file or archive access of its own
CORE_FORBIDDEN = ("duckdb", "pyspark", "httpx", "socket", "tailwatch.archive", "tailwatch.heard_store",
                  "tailwatch.seen_store")


def modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in (SRC / "tailwatch").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if package else parts)] = (path, package)
    return out


MODULES = modules()


def _owner(name: str) -> str | None:
    """The module `name` refers to (a package's submodule when `from pkg import sub`)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> dict[str, int]:
    """tailwatch modules imported anywhere in `module` (top level or in a function) → first line."""
    path, package = MODULES[module]
    here = module if package else module.rpartition(".")[0]
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for target in targets:
            if target.split(".")[0] != "tailwatch":
                continue
            owner = _owner(target)
            if owner and owner != module:
                found.setdefault(owner, node.lineno)
    return found


def external_imports(module: str) -> set[str]:
    path, _ = MODULES[module]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def layer_of(module: str) -> str:
    best, length = None, -1
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = name, len(prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS (and docs/architecture.md)"
    return best


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_module_imports_a_higher_layer():
    upward = []
    for module in sorted(MODULES):
        mine = RANK[layer_of(module)]
        for target, line in imports_of(module).items():
            if RANK[layer_of(target)] > mine:
                upward.append(f"{MODULES[module][0].relative_to(SRC)}:{line}: {module} ({layer_of(module)}) "
                              f"imports {target} ({layer_of(target)})")
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_the_core_does_no_io():
    found = []
    for module in sorted(MODULES):
        if layer_of(module) != "core":
            continue
        for name in external_imports(module) | set(imports_of(module)):
            if any(name == f or name.startswith(f + ".") for f in CORE_FORBIDDEN):
                found.append(f"{module} imports {name}")
    assert not found, "\n".join(found)


def test_no_import_circles():
    graph = {m: set(imports_of(m)) for m in MODULES}
    # Tarjan's strongly connected components: any component of two or more modules is a circle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert not circles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


@pytest.mark.parametrize("source, expected", [
    ("from tailwatch.engines.duckdb import points_for\n", {"tailwatch.engines.duckdb"}),
    ("def f():\n    from tailwatch.report import markdown\n", {"tailwatch.report.markdown"}),
    ("import tailwatch.cli as c\n", {"tailwatch.cli"}),
])
def test_imports_inside_functions_and_of_submodules_are_seen(tmp_path, monkeypatch, source, expected):
    fake = tmp_path / "probe.py"
    fake.write_text(source)
    monkeypatch.setitem(MODULES, "tailwatch.probe_module", (fake, False))
    assert set(imports_of("tailwatch.probe_module")) == expected

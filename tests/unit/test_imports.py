"""The code's shape: imports run one way, and the host reaches the measured side through one door."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("harness", "workloads", "tools", "validation")
# The host's pipeline, each step using only the steps above it.  ``harness.page``, what
# sections build and renderers read, stands apart: it imports nothing of the harness.
PIPELINE = ("collect", "analysis", "model", "sections", "report")
# What a section may read besides the page and its package's helpers: the analysis stage.
SECTION_SOURCES = {"harness", "harness.analysis", "harness.model", "harness.charts", "harness.page", "workloads.host"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def _imports(path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports, at module level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + ["%s.%s" % (node.module, alias.name) for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


@functools.cache
def _graph() -> dict[str, set[str]]:
    """Each module's project imports (parsed once for the module's tests; none changes it)."""
    modules = _modules()
    known = set(modules)
    return {name: _imports(path, known) - {name} for name, path in modules.items()}


def test_no_import_cycle_anywhere():
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt) :] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_host_reaches_the_measured_side_only_through_workloads_host():
    graph = _graph()
    offenders = {
        name: sorted(m for m in imported if m.startswith("workloads.") and not m.startswith("workloads.host"))
        for name, imported in graph.items()
        if name.split(".")[0] in ("harness", "tools", "validation")
    }
    assert not {k: v for k, v in offenders.items() if v}


def test_the_measured_side_never_imports_the_host():
    graph = _graph()
    assert not {
        name: sorted(m for m in imported if m.split(".")[0] != "workloads")
        for name, imported in graph.items()
        if name.startswith("workloads") and any(m.split(".")[0] != "workloads" for m in imported)
    }


def _step(graph: dict[str, set[str]], step: str) -> set[str]:
    """A pipeline step's modules: ``harness.<step>``, and its private modules when it is a package."""
    return {m for m in graph if m == "harness." + step or m.startswith("harness.%s." % step)}


def test_the_pipeline_runs_one_way():
    graph = _graph()
    for index, step in enumerate(PIPELINE):
        later = set().union(*(_step(graph, s) for s in PIPELINE[index + 1 :]))
        for module in sorted(_step(graph, step)):
            assert not graph[module] & later, "%s imports a later step: %s" % (module, sorted(graph[module] & later))


def test_a_packages_private_modules_are_imported_only_inside_it():
    """``harness.analysis._speedups`` is reached through ``harness.analysis`` from outside:
    one public API per package, so its modules can be cut again without touching callers."""
    graph = _graph()
    offenders = {}
    for name, imported in graph.items():
        for module in imported:
            parts = module.split(".")
            private = next((i for i, part in enumerate(parts) if part.startswith("_") and i > 0), None)
            if private is not None and parts[0] == "harness" and not name.startswith(".".join(parts[:private])):
                offenders.setdefault(name, []).append(module)
    assert not offenders


def test_the_page_imports_nothing_of_the_harness():
    assert not {m for m in _graph()["harness.page"] if m.split(".")[0] in PACKAGES}


def test_each_section_is_one_module_fed_by_the_analysis():
    """A section module reads the analysis stage and the sections' own helpers, never
    another section (only the registries, ``harness.sections`` and its ``numbers``, list
    them) and never ``collect`` or ``noise``: changing what a section shows changes its module."""
    graph = _graph()
    registries = {"harness.sections", "harness.sections.numbers"}
    for name in sorted(_step(graph, "sections") - registries):
        if name.rpartition(".")[2].startswith("_"):
            continue
        others = {m for m in graph[name] if m not in SECTION_SOURCES and not m.startswith("harness.sections._")}
        assert not others, "%s reads %s" % (name, sorted(others))


def _driver_command_lines(path: Path) -> list[int]:
    """Lines of ``path`` that spell ``-m workloads`` (an env driver's command line) in a list."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.List):
            values = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
            if any(a == "-m" and b == "workloads" for a, b in zip(values, values[1:])):
                found.append(node.lineno)
    return found


def test_one_place_builds_an_env_drivers_command_line():
    """``workloads._cli.driver_command`` (and ``driver_args``, which bench-all hands to tox)."""
    builders = {name: lines for name, path in _modules().items() if (lines := _driver_command_lines(path))}
    assert list(builders) == ["workloads._cli"] and len(builders["workloads._cli"]) == 1

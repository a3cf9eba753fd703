"""The house's floors, held by a test: imports run one way (down), no two modules import each
other, no import hides inside a function, no module reaches for another's private names, the
configuration is loaded only at the edge, only the store opens DuckDB, and modules stay small.

docs/architecture.md draws the floors; ``FLOOR`` below is the same picture as data. A package
may import its own modules and any package on a lower floor, never one on its own floor or above.
"""

from __future__ import annotations

import ast
import statistics
from functools import cache
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]

FLOOR = {
    "core": 0,                                      # store, config, errors, schema, defaults
    "ingest": 1, "access": 1, "graphs": 1,          # data in; users and audit; pure graph functions
    "linkage": 2, "fixtures": 2,                    # persons; the synthetic world (tests, demo, bench)
    "findings": 3,                                  # analytics, alerts, runs
    "views": 4,                                     # chronology, network view, search
    "api": 5,                                       # the HTTP API
    "web": 6,                                       # the analysts' workspace (mounted on the API's app)
    "intel": 7,                                     # the command line: the top
}

# Imports inside a function are allowed only for a dependency that is optional at install time.
# A dotted name allows that module and below only (Splink's Spark backend imports pyspark).
OPTIONAL_DEPENDENCIES = {"pyspark", "splink.backends.spark", "clkhash", "graphviz", "selenium"}

# Work in flight (issue 13, split among the issues that own these files): each entry leaves
# when its file is split or mended; the size test fails if a mended file is still listed.
OVERSIZED_PENDING: set[str] = set()
INNER_IMPORTS_PENDING: set[str] = set()
PRIVATE_IMPORTS_PENDING: set[str] = set()
LOAD_CONFIG_PENDING: set[str] = set()


@cache
def modules() -> dict[str, ast.Module]:
    """'package/path/module.py' -> its syntax tree, for every module of every floor."""
    found = {}
    for package in FLOOR:
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else []:
            found[path.relative_to(ROOT).as_posix()] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def module_name(rel: str) -> str:
    name = rel[:-3].replace("/", ".")
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def imports_of(tree: ast.Module, rel: str) -> list[tuple[ast.stmt, str, list[str]]]:
    """(statement, module imported, names) for every import of one of our packages."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:   # relative: resolve against the package
            base = module_name(rel).split(".")[: -node.level or None] if not rel.endswith("__init__.py") else \
                module_name(rel).split(".")[: len(module_name(rel).split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            out.append((node, target, [a.name for a in node.names]))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in FLOOR:
            out.append((node, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(node, a.name, []) for a in node.names if a.name.split(".")[0] in FLOOR]
    return out


def test_every_package_has_a_floor() -> None:
    top_level = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name not in ("tests",)}
    assert top_level <= set(FLOOR), f"packages without a floor (add them to FLOOR and docs/architecture.md): {top_level - set(FLOOR)}"


def test_imports_run_down() -> None:
    wrong = []
    for rel, tree in modules().items():
        here = rel.split("/")[0]
        for node, target, _ in imports_of(tree, rel):
            there = target.split(".")[0]
            if there != here and FLOOR[there] >= FLOOR[here]:
                wrong.append(f"{rel}:{node.lineno} imports {target} (floor {FLOOR[there]} from floor {FLOOR[here]})")
    assert not wrong, "imports that run up or sideways:\n" + "\n".join(wrong)


def test_only_the_command_line_imports_the_synthetic_world() -> None:
    """fixtures/ makes fake people: the service itself must never depend on it (tests, bench and
    the CLI's generate and demo commands do)."""
    users = [f"{rel}:{node.lineno}" for rel, tree in modules().items() if not rel.startswith(("intel/", "fixtures/"))
             for node, target, _ in imports_of(tree, rel) if target.split(".")[0] == "fixtures"]
    assert not users, f"the service imports fixtures/: {users}"


def test_no_two_modules_import_each_other() -> None:
    graph = nx.DiGraph()
    names = {module_name(rel) for rel in modules()}
    for rel, tree in modules().items():
        for _, target, imported in imports_of(tree, rel):
            # 'from pkg import mod' imports the module pkg.mod
            targets = [f"{target}.{n}" for n in imported if f"{target}.{n}" in names] or [target]
            for t in targets:
                if t in names and t != module_name(rel):
                    graph.add_edge(module_name(rel), t)
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, f"modules that import each other: {cycles}"


def test_no_import_inside_a_function() -> None:
    hidden = []
    for rel, tree in modules().items():
        if rel in INNER_IMPORTS_PENDING:
            continue
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        name = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                        if not any((name or "") == d or (name or "").startswith(d + ".")
                                   for d in OPTIONAL_DEPENDENCIES):
                            hidden.append(f"{rel}:{node.lineno} imports {name} inside {fn.name}()")
    assert not hidden, "imports inside functions (move them to the top):\n" + "\n".join(hidden)


def test_no_module_takes_another_modules_private_names() -> None:
    taken = []
    for rel, tree in modules().items():
        if rel in PRIVATE_IMPORTS_PENDING:
            continue
        for node, target, imported in imports_of(tree, rel):
            if target != module_name(rel):
                taken += [f"{rel}:{node.lineno} takes {target}.{n}" for n in imported if n.startswith("_")]
    assert not taken, "private names used from another module:\n" + "\n".join(taken)


def test_configuration_is_loaded_only_at_the_edge() -> None:
    edge = ("intel/", "web/", "api/app.py")
    below = []
    for rel, tree in modules().items():
        if rel.startswith(edge) or rel == "core/config.py" or rel in LOAD_CONFIG_PENDING:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "load_config":
                below.append(f"{rel}:{node.lineno}")
    assert not below, "load_config() below the top floor (take the config as an argument):\n" + "\n".join(below)


def test_only_the_store_opens_duckdb() -> None:
    others = [rel for rel, tree in modules().items() if rel != "core/store.py" and any(
        isinstance(n, ast.Import) and any(a.name == "duckdb" for a in n.names)
        or isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "duckdb" for n in ast.walk(tree))]
    assert not others, f"modules importing duckdb besides core/store.py: {others}"


def test_modules_stay_small() -> None:
    sizes = {rel: len((ROOT / rel).read_text(encoding="utf-8").splitlines()) for rel in modules()}
    over = {rel: n for rel, n in sizes.items() if n > 400 and rel not in OVERSIZED_PENDING}
    assert not over, f"modules over 400 lines (split them by reason to change): {over}"
    done = [rel for rel in OVERSIZED_PENDING if rel in sizes and sizes[rel] <= 400]
    assert not done, f"split already: take them off OVERSIZED_PENDING: {done}"
    code = [n for rel, n in sizes.items() if not rel.endswith("__init__.py")]
    assert statistics.median(code) < 150, f"median module {statistics.median(code)} lines"


def test_every_module_says_what_it_is_for() -> None:
    silent = [rel for rel, tree in modules().items()
              if not rel.endswith("__init__.py") and not ast.get_docstring(tree)]
    assert not silent, f"modules without a docstring on their purpose: {silent}"

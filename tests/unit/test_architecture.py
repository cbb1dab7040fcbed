"""The folder tree is the architecture: these hold it to the rules docs/ARCHITECTURE.md states.

The package rules themselves (which package may import which, where TensorFlow, Streamlit and
Optuna may be imported) are .importlinter's contracts, checked by `lint-imports` in the test
command; here, that they catch what they are meant to, and the shape rules they cannot state.
"""

import ast
import functools
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

PROJECT = Path(__file__).resolve().parents[2]
CORE = PROJECT / "core"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_MODULE_LINES = 400
MAX_CHAIN = 9  # Modules on the longest import chain, from app.py or a page down to a leaf.
ENTRY_MODULES = {"train.py"}  # `python -m core.train`, a thin entry into core.jobs.
MAX_ENTRY_LINES = 30


def test_core_holds_packages_and_thin_entry_modules_only():
    loose = {path.name for path in CORE.glob("*.py")} - {"__init__.py"}
    assert loose == ENTRY_MODULES
    for name in loose:
        assert len((CORE / name).read_text().splitlines()) < MAX_ENTRY_LINES
    packages = {path.name for path in CORE.iterdir() if (path / "__init__.py").is_file()}
    assert packages == {"data", "jobs", "networks", "queue", "runs", "search", "serving", "ui"}


def test_no_module_is_longer_than_400_lines():
    lengths = {
        str(path.relative_to(PROJECT)): len(path.read_text().splitlines()) for path in CORE.rglob("*.py")
    }
    assert {path: lines for path, lines in lengths.items() if lines > MAX_MODULE_LINES} == {}


@functools.cache
def import_graph() -> grimp.ImportGraph:
    # Type-checking imports count: a chain or a cycle of type hints is still one to read through.
    return grimp.build_graph("core", "pages", cache_dir=None)


def longest_chain(graph: grimp.ImportGraph, module: str, seen: tuple = ()) -> tuple[str, ...]:
    assert module not in seen, f"import cycle: {' -> '.join((*seen, module))}"
    chains = [
        longest_chain(graph, imported, (*seen, module))
        for imported in sorted(graph.find_modules_directly_imported_by(module))
        if imported in graph.modules
    ]
    return (module, *max(chains, key=len, default=()))


def test_no_import_chain_is_longer_than_nine_modules_and_none_is_a_cycle():
    graph = import_graph()
    app_imports = {
        node.module
        for node in ast.walk(ast.parse((PROJECT / "app.py").read_text()))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("core")
    }
    chains = [longest_chain(graph, module) for module in sorted(graph.modules)]
    chains += [("app", *longest_chain(graph, module)) for module in sorted(app_imports)]
    longest = max(chains, key=len)
    assert len(longest) <= MAX_CHAIN, " -> ".join(longest)


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # A function-level import counts: no module outside the job package may import Keras.
        ("core/runs/export.py", "    import keras\n", "core.runs is not allowed to import keras"),
        ("core/data/mnist.py", "    import streamlit\n", "core.data is not allowed to import streamlit"),
        (
            "core/runs/registry.py",
            "    from core.queue import scheduler\n",
            "core.runs is not allowed to import core.queue",
        ),
    ],
)
def test_the_contracts_catch_an_import_that_breaks_them(tmp_path, module, line, broken):
    for name in ("core", "pages"):
        shutil.copytree(PROJECT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT / ".importlinter", tmp_path)
    with open(tmp_path / module, "a") as handle:
        handle.write(f"\n\ndef _added_by_the_test():\n{line}")
    done = subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1 and broken in done.stdout, done.stdout[-2000:]


def test_a_family_is_its_module_and_one_registration():
    """How to add a network family: its module in core/networks/families/, its FAMILY in
    `config.FAMILIES` (docs/ARCHITECTURE.md): two places, and no module left unregistered."""
    from core.networks.config import FAMILIES

    modules = {path.stem for path in (CORE / "networks" / "families").glob("*.py")} - {"__init__", "base"}
    registered = {family.build.__module__.rpartition(".")[2] for family in FAMILIES.values()}
    assert registered == modules


def test_a_job_kind_is_its_declaration_and_one_body_in_the_job_package():
    """How to add a job kind: one `JobKind` in core.queue.jobs.KINDS naming its body, a function
    of a module in core/jobs (read from the source: importing it would import TensorFlow)."""
    from core.queue.jobs import KINDS

    for kind, declared in KINDS.items():
        module, _, function = declared.body.partition(":")
        assert module.startswith("core.jobs."), kind
        source = PROJECT / (module.replace(".", "/") + ".py")
        defined = {
            node.name for node in ast.parse(source.read_text()).body if isinstance(node, ast.FunctionDef)
        }
        assert function in defined, f"{kind}: {declared.body}"


def test_the_contracts_hold_on_this_tree():
    done = subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=PROJECT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]

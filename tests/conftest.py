"""Keep every test away from the project's own runs folder, and clean up job processes.

Also what running the tests in parallel (pytest-xdist, `--dist loadgroup`) needs: the tests
of a module that share a module-scoped fixture run on one worker (the fixture is made once, the
tests keep their order), the tiny models are trained once per session for all workers (tests/tiny_models.py),
and the data cache is built before the workers start. Tests marked `slow` (a process of their own
that trains, a training script, a search, a server, a browser or a database) are what
`bash scripts/test.sh --quick` leaves out; every test under tests/e2e is marked so here.
"""

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("MNIST_RUNS_DIR", tempfile.mkdtemp(prefix="mnist-test-runs-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core.queue import scheduler
from tests import tiny_models  # noqa: E402

E2E = Path(__file__).parent / "e2e"


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # Once, before any worker starts: not one build each.
        from core.data.mnist import load_mnist

        load_mnist()


def _shares_a_fixture(item) -> bool:
    """Whether the test uses a module- or class-scoped fixture, made once for its neighbours."""
    definitions = item._fixtureinfo.name2fixturedefs.values()
    return any(str(d.scope) in ("module", "class", "package") for defs in definitions for d in defs)


@pytest.hookimpl(tryfirst=True)  # Before pytest-xdist reads the groups.
def pytest_collection_modifyitems(config, items):
    """A test that shares a module fixture runs on its module's worker, in its module's order;
    the others go wherever a worker is free. Modules holding slow tests start first, so no long
    test is left for the end while the other worker idles."""
    slow_modules = set()
    for item in items:
        if E2E in Path(item.path).parents:
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("slow"):
            slow_modules.add(item.path)
        if not any(item.iter_markers("xdist_group")) and _shares_a_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    items.sort(key=lambda item: item.path not in slow_modules)  # Stable: each module keeps its order.


@pytest.fixture(scope="session", autouse=True)
def trained_once(tmp_path_factory):
    """The session's tiny models, in the base folder every xdist worker of this session shares."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    tiny_models.CACHE = shared / "trained-once"
    yield tiny_models.CACHE
    tiny_models.CACHE = None


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """An empty runs folder of the test's own, `tmp_path / "runs"`, as $MNIST_RUNS_DIR. When the
    test ends, the scheduler thread a page may have started (it ticks this folder) is stopped and
    the job processes that ended are collected; `job_processes` kills those still running."""
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("MNIST_RUNS_DIR", str(root))
    yield root
    scheduler.stop_scheduler()
    scheduler.reap_children()


@pytest.fixture
def jobs_stay_queued(monkeypatch):
    """The scheduler starts nothing: what a page or the core asks for stays queued."""
    monkeypatch.setattr(scheduler, "tick", lambda: None)


@pytest.fixture(scope="module")
def module_runs_root(tmp_path_factory):
    """One runs folder shared by a module's tests, for modules whose runs build on each other."""
    with pytest.MonkeyPatch.context() as patch:
        root = tmp_path_factory.mktemp("runs")
        patch.setenv("MNIST_RUNS_DIR", str(root))
        yield root


@pytest.fixture
def job_processes():
    """Kills what the scheduler started in this process when the test ends, and reaps it."""
    yield
    with scheduler._children_lock:
        children = list(scheduler._children.values())
    for child in children:
        child.kill()
        child.wait()
    scheduler.reap_children()

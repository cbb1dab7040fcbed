"""Keep every test away from the project's own runs folder, and clean up job processes."""

import os
import tempfile

import pytest

os.environ.setdefault("MNIST_RUNS_DIR", tempfile.mkdtemp(prefix="mnist-test-runs-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core import scheduler  # noqa: E402 - after MNIST_RUNS_DIR is set.


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

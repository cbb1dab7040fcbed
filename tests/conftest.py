"""Keep every test away from the project's own runs folder."""

import os
import tempfile

os.environ.setdefault("MNIST_RUNS_DIR", tempfile.mkdtemp(prefix="mnist-test-runs-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

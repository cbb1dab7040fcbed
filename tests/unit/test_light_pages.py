"""The fast pages never import TensorFlow: a fresh process runs them and inspects sys.modules."""

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from streamlit.testing.v1 import AppTest
app = AppTest.from_file("app.py", default_timeout=60)
app.run()
assert not app.exception, app.exception
for page in {pages!r}:
    app.switch_page(page).run()
    assert not app.exception, app.exception
print("tensorflow" in sys.modules, "keras" in sys.modules)
"""


@pytest.mark.parametrize("pages", [["pages/explore.py", "pages/statistics.py"]])
def test_home_and_data_pages_do_not_import_tensorflow(pages):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(pages=pages)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "False"]

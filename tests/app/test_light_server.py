"""The light server: a fresh process runs every page (predicting with two models from an uploaded
image, saliency, compare, run detail, export and import, train, runs) and never imports
TensorFlow; predictions come from the LiteRT files the worker wrote."""

import json
import os
import subprocess
import sys

import pytest

from core.runs import layout
from tests import tiny_models


@pytest.mark.slow
def test_every_page_runs_without_tensorflow(runs_dir):
    run = tiny_models.tiny_run("seed-mlp", "tiny mlp", epochs=1)
    assert run.state == "finished" and (run.path / layout.LITE_MODEL_FILE).is_file()
    result = subprocess.run(
        [sys.executable, "-m", "tests.app.visit_every_page"],
        cwd=layout.PROJECT_ROOT,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["heavy_modules"] == []
    assert [">7</div>" in answer for answer in report["predictions"]] == [True, True]

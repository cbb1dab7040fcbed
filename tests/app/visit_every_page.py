"""Visit every page declared in core/ui/navigation.py as a user would, in this process, then print
which heavy modules it loaded.

Run by tests/app/test_light_server.py in a fresh process (`python -m tests.app.visit_every_page`)
over a runs folder holding one trained run: the server must never import TensorFlow.
"""

import io
import json
import sys

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.data.mnist import load_mnist
from core.runs import access, registry
from core.serving import prediction
from core.ui import navigation
from tests.app import APP


def visit(app: AppTest, name: str) -> AppTest:
    app.switch_page(navigation.page(name).file).run()
    assert not app.exception, (name, app.exception)
    return app


def seven_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(load_mnist().x_test[0]).resize((140, 140)).save(buffer, format="PNG")
    return buffer.getvalue()


def check_run_detail(app: AppTest) -> None:
    assert app.metric[0].label == "Test accuracy", "run detail shows the stored evaluation"


def check_predict(app: AppTest) -> list[str]:
    """The predicted digit for the uploaded 7, from the shipped model and from the run."""
    predictions = []
    for choice in prediction.model_choices(registry.list_runs())[:2]:
        app.selectbox(key="predict_model").set_value(choice.id).run()
        app.segmented_control(key="predict_source").set_value("Upload").run()
        app.file_uploader(key="predict_upload").set_value(("seven.png", seven_png(), "image/png")).run()
        assert not app.exception and not app.error, [e.value for e in app.error]
        predictions.append(next(m.value for m in app.markdown if "predicted-digit" in m.value))
    return predictions


def check_insight(app: AppTest) -> None:
    app.radio(key="insight_method").set_value("pixel_flip").run()
    assert not app.exception and len(app.image) >= 3


def check_model_io(app: AppTest) -> None:
    app.file_uploader(key="io_upload").set_value(
        ("notes.keras", b"not a model", "application/octet-stream")
    ).run()
    app.button(key="io_import").click().run()
    assert "not a Keras model file" in app.error[0].value


# What is tried on a page once it is open, beyond running without an exception.
CHECKS = {
    "run_detail": check_run_detail,
    "predict": check_predict,
    "insight": check_insight,
    "model_io": check_model_io,
}
LAST = "search"  # The one page that loads Optuna: opened once every other page has shown none did.


def main() -> None:
    # As on the owner's laptop (tests/app/conftest.py does the same): AppTest sends no Host header.
    access.is_local = lambda address, host, proxied=False: True
    declared = [page.name for page in navigation.PAGES]
    assert set(CHECKS) | {LAST} <= set(declared), "a check for a page nobody declared"
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    outcomes = {}
    for name in declared:
        if name != LAST:
            visit(app, name)
            outcomes[name] = CHECKS[name](app) if name in CHECKS else None
    assert "optuna" not in sys.modules, "only the Search page loads Optuna"
    visit(app, LAST)
    heavy = sorted(name for name in ("tensorflow", "keras", "jax", "torch") if name in sys.modules)
    print(json.dumps({"predictions": outcomes["predict"], "heavy_modules": heavy}))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()

"""The predict page, run headless through AppTest: uploads, bad files, the model picker.

AppTest cannot draw on the canvas (the component returns its empty default), so drawing is
covered by tests/e2e/test_predict_browser.py; uploads go through the real file_uploader here.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from core.data.mnist import load_mnist
from core.jobs.convert import write_lite_files
from core.networks.config import PRESETS
from core.queue import scheduler
from core.runs import layout, registry
from tests import as_read
from tests.app import open_page

SEVEN = 0  # MNIST test digit #0: a clear 7.


@pytest.fixture(scope="module")
def runs(module_runs_root):
    """A run whose model file is corrupt, a model that has not been converted to LiteRT yet, and
    newer runs with LiteRT copies, as the worker leaves them."""
    corrupt = registry.create_run(PRESETS["fast-cnn"].config, "corrupt run")
    (corrupt.path / layout.MODEL_FILE).write_bytes(b"PK\x03\x04 this zip archive is cut short")
    registry.update_status(corrupt, {"state": "finished"})
    unconverted = registry.create_run(PRESETS["seed-mlp"].config, "not converted yet")
    torn_model = save_torn_model(unconverted.path / layout.MODEL_FILE)
    registry.update_status(unconverted, {"state": "stopped"})
    torn = registry.create_run(PRESETS["seed-mlp"].config, "torn between 4 and 9")
    save_torn_model(torn.path / layout.MODEL_FILE)
    write_lite_files(torn_model, torn.path, source_name=layout.MODEL_FILE)
    registry.update_status(torn, {"state": "stopped"})
    good = registry.create_run(PRESETS["seed-mlp"].config, "small mlp")
    write_lite_files(
        train_small_model(good.path / layout.MODEL_FILE), good.path, source_name=layout.MODEL_FILE
    )
    registry.update_status(good, {"state": "finished", "test_accuracy": 0.95})
    return {"good": good.id, "corrupt": corrupt.id, "torn": torn.id, "unconverted": unconverted.id}


def save_torn_model(path):
    """A model that answers 9 at 50% and 4 at 30% whatever it is shown."""
    import keras

    answer = np.log(np.array([0.025] * 4 + [0.3] + [0.025] * 4 + [0.5]))
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(
                10,
                activation="softmax",
                kernel_initializer="zeros",
                bias_initializer=keras.initializers.Constant(answer),
            ),
        ]
    )
    model.save(path)
    return model


def train_small_model(path):
    from core.jobs.device import configure_tensorflow

    configure_tensorflow()
    import keras

    keras.utils.set_random_seed(0)
    data = load_mnist()
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    # 3,000 digits, 2 epochs: the photographed 7 comes out 7 at 89% (60% is asked for); the
    # 10,000 digits and 3 epochs this used to take gave 98% at about twice the time.
    model.fit(data.x_train[:3000, ..., None], data.y_train[:3000], epochs=2, batch_size=64, verbose=0)
    model.save(path)
    return model


@pytest.fixture
def app(runs):
    app = open_page("predict")
    app.selectbox(key="predict_model").set_value(runs["good"]).run()
    assert not app.exception
    return app


def upload(app, name, content, mime="image/png"):
    app.segmented_control(key="predict_source").set_value("Upload").run()
    app.file_uploader(key="predict_upload").set_value((name, content, mime)).run()
    assert not app.exception
    return app


def encoded(image, format):
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


def photo_of_test_digit(index):
    """A test digit enlarged and printed dark on light grey paper, saved as a JPEG."""
    digit = Image.fromarray(load_mnist().x_test[index]).resize((180, 180), Image.Resampling.BILINEAR)
    page = Image.new("L", (320, 260), 0)
    page.paste(digit, (90, 50))
    paper = 230 - (np.asarray(page, dtype=np.float32) * 200 / 255)
    return encoded(Image.fromarray(paper.astype(np.uint8)).convert("RGB"), "JPEG")


def test_opens_on_the_canvas_and_asks_for_a_digit(app, runs):
    assert [m.value for m in app.info] == ["Draw a digit on the canvas to see what the network thinks it is."]
    # The result's layout, empty: no digit, no confidence, empty bars.
    assert [m.value for m in app.metric] == ["–"]
    assert not any("predicted-digit" in m.value for m in app.markdown)
    assert len(app.get("plotly_chart")) == 1
    assert "handover_digit" not in app.session_state
    model_caption = as_read(app.caption[0].value)
    assert model_caption.startswith("Model: small mlp · MLP 512-512 · finished · 95.00% test accuracy")


def test_the_canvas_help_promises_only_what_is_on_screen(app, runs):
    """The canvas's own toolbar hides until the mouse is over it: a Clear button is always there."""
    captions = [caption.value for caption in app.caption]
    assert any(c.startswith("Draw one digit") and "Clear starts again" in c for c in captions)
    assert not any("toolbar has" in c for c in captions)
    clear = app.button(key="predict_clear")
    assert clear.label == "Clear the canvas"
    clear.click().run()
    assert not app.exception and app.session_state["predict_clears"] == 1


def test_the_model_picker_is_in_the_page_not_the_narrow_sidebar(app, runs):
    assert not app.sidebar.selectbox
    assert app.selectbox(key="predict_model") in list(app.main.selectbox)


def test_upload_a_photo_and_see_the_prediction(app, runs):
    upload(app, "seven.jpg", photo_of_test_digit(SEVEN), "image/jpeg")
    assert not app.error
    assert ">7</div>" in app.markdown[0].value
    confidence = app.metric[0]
    assert confidence.label == "Confidence" and float(confidence.value.rstrip("%")) > 60
    assert len(app.get("plotly_chart")) == 1
    images = [caption for image in app.get("image") for caption in image.captions]
    assert images == ["seven.jpg", "What the model sees: 28 x 28, MNIST-style."]
    captions = [c.value for c in app.caption]
    assert any("inverted to white on black" in c for c in captions)
    assert any(c.startswith("Preprocessing and inference:") for c in captions)
    assert app.session_state["handover_model"] == runs["good"]
    handover = app.session_state["handover_digit"]
    assert handover.shape == (28, 28) and handover.max() == pytest.approx(255)


def test_an_unsure_model_says_so_and_names_the_runner_up(app, runs):
    app.selectbox(key="predict_model").set_value(runs["torn"]).run()
    upload(app, "seven.jpg", photo_of_test_digit(SEVEN), "image/jpeg")
    assert ">9</div>" in app.markdown[0].value
    assert app.metric[0].value == "50.0%"
    assert app.warning[0].value == "The model is unsure. Runner-up: 4 (30.0%)."
    assert app.session_state["handover_model"] == runs["torn"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("notes.png", b"these are notes, not a picture", "not an image we can read"),
        ("cut.png", encoded(Image.new("RGB", (300, 300), "white"), "PNG")[:300], "damaged or incomplete"),
        ("huge.png", encoded(Image.new("1", (12_000, 6_000)), "PNG"), "too many pixels"),
    ],
)
def test_bad_files_get_a_message_and_no_prediction(app, name, content, message):
    upload(app, name, content)
    assert len(app.error) == 1 and message in app.error[0].value
    assert not app.get("plotly_chart")
    assert "handover_digit" not in app.session_state


def test_a_refused_picture_after_an_answer_leaves_no_answer_to_explain(app, runs):
    """The answer to the picture before is not this one's: none shown, none handed to insight."""
    upload(app, "seven.jpg", photo_of_test_digit(SEVEN), "image/jpeg")
    assert "handover_digit" in app.session_state
    upload(app, "notes.png", b"these are notes, not a picture")
    assert len(app.error) == 1 and "not an image we can read" in app.error[0].value
    assert not any("predicted-digit" in m.value for m in app.markdown)
    assert "handover_digit" not in app.session_state and "handover_model" not in app.session_state


def test_an_empty_picture_asks_for_a_digit(app):
    upload(app, "blank.png", encoded(Image.new("RGB", (200, 200), (250, 250, 250)), "PNG"))
    assert "No digit found in this image" in app.warning[0].value
    assert not app.get("plotly_chart")


def rerun_until(app, condition, timeout=120):
    """Rerun the page until `condition(app)` holds: the background job it waits on has ended.

    Each step ticks the scheduler as the server's scheduler thread does, so the job queued meanwhile
    starts whether or not an earlier test in this process stopped that thread.
    """
    deadline = time.monotonic() + timeout
    while not condition(app):
        assert time.monotonic() < deadline, "the background job did not end"
        time.sleep(0.5)
        scheduler.tick()
        app.run()
        assert not app.exception
    return app


@pytest.mark.slow  # A job process.
def test_a_model_without_a_lite_copy_is_converted_in_the_background(app, runs):
    app.selectbox(key="predict_model").set_value(runs["unconverted"]).run()
    assert "not converted yet: " in app.info[0].value and "answers meanwhile" in app.info[0].value
    rerun_until(app, lambda app: app.caption[0].value.startswith("Model: not converted yet"))
    upload(app, "seven.jpg", photo_of_test_digit(SEVEN), "image/jpeg")
    assert ">9</div>" in app.markdown[0].value and app.metric[0].value == "50.0%"


def test_a_corrupt_model_falls_back_to_the_default(app, runs):
    app.selectbox(key="predict_model").set_value(runs["corrupt"]).run()
    assert not app.exception
    rerun_until(app, lambda app: len(app.error) == 1)
    message = as_read(app.error[0].value)  # Escaped as plain text.
    assert "model.keras is damaged" in message and "answers meanwhile" in message
    default = app.selectbox(key="predict_model").options[0]
    assert as_read(app.caption[0].value) == f"Model: {default}"
    assert "corrupt run" not in default

"""Importing uploaded models: good ones become runs that follow the model contract (wrapped with
built-in layers when needed, input scale measured) with a LiteRT copy; anything else is refused
with a message. The server only runs the static checks and queues the import job."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from core.data.mnist import load_mnist
from core.jobs import import_body
from core.jobs import runner as job_main
from core.queue import imports as importer
from core.queue import jobs
from core.runs import compare, layout, registry, run_results
from core.serving.inference import load_classifier
from tests import tiny_models

pytestmark = pytest.mark.usefixtures("runs_dir")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Model files written once for the module: bytes by name."""
    folder = tmp_path_factory.mktemp("uploads")
    keras = tiny_models.keras_module()
    made = {
        "contract": tiny_models.contract_mlp(),
        "vector_logits": tiny_models.vector_unit_scale_logits(),
        "wrong_input": keras.Sequential(
            [keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
        ),
        "wrong_output": keras.Sequential(
            [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")]
        ),
    }
    inputs = keras.Input((28, 28, 1))
    made["lambda"] = keras.Model(
        inputs,
        keras.layers.Dense(10, activation="softmax")(
            keras.layers.Flatten()(keras.layers.Lambda(lambda x: x / 255.0)(inputs))
        ),
    )

    @keras.saving.register_keras_serializable(package="uploader")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    made["custom"] = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            Doubler(),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    data = {}
    for name, model in made.items():
        path = folder / f"{name}.keras"
        model.save(path)
        data[name] = path.read_bytes()
    return data


def test_contract_model_is_imported_unchanged(files):
    report = import_body.import_model(files["contract"], "mine.keras", mnist=load_mnist())
    run = report.run
    assert run.name == "mine" and run.state == "finished"
    assert report.input_scale == "0-255" and report.wrapped_with == []
    assert report.scale_accuracy["0-255"] > 0.8 > report.scale_accuracy["[0, 1]"]
    assert (run.path / layout.MODEL_FILE).read_bytes() == files["contract"]
    info = compare.imported_info(registry.reload(run))
    assert info["parameters"] == report.parameters == 784 * 32 + 32 + 33 * 10
    assert run.description == "imported: Sequential: Dense 32, Dense 10"
    assert run_results.usable_model_path(run) is not None and run_results.read_evaluation(run) is None
    assert (
        load_classifier(run.path / layout.LITE_MODEL_FILE).probabilities(load_mnist().x_test[0]).argmax() == 7
    )


def test_vector_input_unit_scale_logits_model_is_wrapped(files):
    report = import_body.import_model(
        files["vector_logits"], "vector.keras", name="Vector net", mnist=load_mnist()
    )
    assert report.input_scale == "[0, 1]" and report.input_description == "784-value vector"
    assert report.scale_accuracy["[0, 1]"] > 0.8
    assert [note.split(":")[0] for note in report.wrapped_with] == [
        "Rescaling(1/255)",
        "Reshape(784,)",
        "Softmax",
    ]
    classifier = load_classifier(report.run.path / layout.LITE_MODEL_FILE)  # The wrapped model.
    data = load_mnist()
    probabilities = classifier.probabilities_batch(data.x_test[:200])
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert (probabilities.argmax(axis=1) == data.y_test[:200]).mean() > 0.8
    assert report.run.name == "Vector net"


@pytest.mark.parametrize(
    "name, message",
    [
        ("wrong_input", "takes input of shape (32, 32, 3)"),
        ("wrong_output", "gives output of shape (5,)"),
        ("lambda", "contains a Lambda layer"),
        ("custom", "uses custom code (uploader>Doubler)"),
    ],
)
def test_unusable_models_are_refused(files, runs_dir, name, message):
    with pytest.raises(importer.ImportRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_body.import_model(files[name], f"{name}.keras", mnist=load_mnist())
    assert not registry.list_runs(include_shipped=False)


def zip_with(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def damaged_weights(good: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries["model.weights.h5"] = b"not hdf5 at all"
    return zip_with(entries)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda good: good[: len(good) // 2], "not a Keras model file, or it is damaged"),
        (lambda good: b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "not a Keras model file"),
        (lambda good: b"just some notes", "not a Keras model file"),
        (lambda good: b"", "is empty"),
        (lambda good: b"\x89HDF\r\n\x1a\n" + b"\0" * 100, "old-style HDF5"),
        (lambda good: zip_with({"readme.txt": b"hello"}), "has no config.json"),
        (lambda good: zip_with({"config.json": b"{not json"}), "not valid JSON"),
        (damaged_weights, "could not be loaded as a Keras model"),
    ],
)
def test_bad_files_are_refused_with_a_message(files, runs_dir, make, message):
    with pytest.raises(importer.ImportRefused, match=message):
        import_body.import_model(make(files["contract"]), "upload.keras", mnist=load_mnist())
    assert not registry.list_runs(include_shipped=False)


@pytest.mark.slow
def test_the_server_queues_an_import_that_a_job_carries_out(files, jobs_stay_queued):
    # The job runs in this process below.
    target = importer.request_import(files["vector_logits"], "net.keras", "from the page")
    assert jobs.read("import", target)["state"] == jobs.QUEUED
    assert job_main.run_job("import", target) == 0
    report = jobs.read("import", target)["result"]
    run = registry.open_run(layout.runs_dir() / report["run_id"])
    assert run.name == report["name"] == "from the page" and report["input_scale"] == "[0, 1]"
    assert report["test_accuracy"] == run_results.read_evaluation(run)["accuracy"] > 0.8
    assert "784-value vector" in importer.summary(report)
    assert list((jobs.jobs_dir() / importer.UPLOADS_FOLDER).iterdir()) == []  # The upload is gone.


def test_a_refused_import_job_reports_why_and_leaves_nothing(files, jobs_stay_queued):
    target = importer.request_import(files["wrong_output"], "five.keras")
    assert job_main.run_job("import", target) == 1
    job = jobs.read("import", target)
    assert job["state"] == jobs.FAILED and job["error"].startswith(
        "The model in five.keras gives output of shape (5,)"
    )
    assert not registry.list_runs(include_shipped=False)
    assert list((jobs.jobs_dir() / importer.UPLOADS_FOLDER).iterdir()) == []


def test_static_checks_refuse_in_the_server_before_any_job(files):
    bomb = zip_with({"config.json": b" " * (importer.MAX_CONFIG_BYTES + 1)})
    assert len(bomb) < 100_000
    with pytest.raises(importer.ImportRefused, match="far larger than any digit classifier"):
        importer.request_import(bomb, "bomb.keras")
    with pytest.raises(importer.ImportRefused, match="contains a Lambda layer"):
        importer.request_import(files["lambda"], "lambda.keras")
    assert jobs.all_jobs() == []

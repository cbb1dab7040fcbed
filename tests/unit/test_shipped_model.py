"""The first-launch model shipped in models/ is listed read-only and keeps its promise."""

import keras
import numpy as np
import pytest

from core.data.mnist import load_mnist
from core.networks.config import PRESETS
from core.runs import layout, registry, run_results
from tests import assert_labels_agree_but_for_near_ties


@pytest.fixture(scope="module")
def shipped():
    [run] = [run for run in registry.list_runs() if run.shipped]
    return run


def test_it_is_listed_read_only_and_cannot_be_deleted(shipped):
    assert shipped.state == "finished" and shipped.read_only
    assert shipped.config == PRESETS["fast-cnn"].config
    with pytest.raises(layout.RegistryError):
        registry.delete_run(shipped)
    assert run_results.usable_model_path(shipped).is_file()


def test_it_scores_at_least_99_percent_on_all_10000_test_digits(shipped):
    model = keras.saving.load_model(run_results.usable_model_path(shipped), safe_mode=True)
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    data = load_mnist()
    probabilities = model.predict(data.x_test[..., None].astype("float32"), batch_size=1000, verbose=0)
    labels = probabilities.argmax(axis=1)
    accuracy = float(np.mean(labels == data.y_test))
    assert accuracy >= 0.99
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    # Another CPU's kernels round differently, so a near tie may flip: only those may disagree
    # with the stored answers, and the stored accuracy is that of the stored answers.
    stored = run_results.read_predictions(shipped)["labels"]
    assert_labels_agree_but_for_near_ties(probabilities, stored)
    assert shipped.status["test_accuracy"] == pytest.approx(np.mean(stored == data.y_test))

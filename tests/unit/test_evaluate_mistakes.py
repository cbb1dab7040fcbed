"""Most-confused pairs, the misclassified gallery's order, row-normalised rates, and the shared
store-an-evaluation function, checked against small cases worked out by hand."""

import numpy as np
import pytest

from core.runs import atomic_files, layout
from core.serving.evaluate import (
    evaluate_and_store,
    misclassified,
    most_confused_pairs,
    predicted_labels,
    row_normalised,
)

# Rows are true digits, columns predictions (3 classes):
#   true 0: 5 right, 3 called 1, 1 called 2      support 9
#   true 1: 2 called 0, 6 right                  support 8
#   true 2: 3 called 0, 3 called 1, 0 right      support 6
CONFUSION = np.array([[5, 3, 1], [2, 6, 0], [3, 3, 0]])


def test_most_confused_pairs_largest_first_ties_by_true_then_predicted():
    pairs = most_confused_pairs(CONFUSION, top=10)
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs] == [
        (0, 1, 3),
        (2, 0, 3),
        (2, 1, 3),
        (1, 0, 2),
        (0, 2, 1),
    ]
    assert pairs[0]["share"] == pytest.approx(3 / 9)
    assert pairs[1]["share"] == pytest.approx(3 / 6)
    assert len(most_confused_pairs(CONFUSION, top=2)) == 2


def test_no_mistakes_no_pairs():
    assert most_confused_pairs(np.diag([4, 5, 6])) == []


def test_row_normalised_rates_and_empty_rows():
    rates = row_normalised(np.array([[3, 1], [0, 0]]))
    assert rates.tolist() == [[0.75, 0.25], [0.0, 0.0]]


# Six digits, three classes. Probabilities of each digit's answer:
Y_TRUE = np.array([0, 1, 2, 0, 1, 2])
PROBABILITIES = np.array(
    [
        [0.9, 0.05, 0.05],  # 0: right
        [0.6, 0.3, 0.1],  # 1: wrong, says 0 at 0.6
        [0.05, 0.9, 0.05],  # 2: wrong, says 1 at 0.9
        [0.2, 0.7, 0.1],  # 3: wrong, says 1 at 0.7
        [0.1, 0.8, 0.1],  # 4: right
        [0.6, 0.1, 0.3],  # 5: wrong, says 0 at 0.6 (ties with #1: dataset order)
    ]
)


LABELS = predicted_labels(PROBABILITIES)


def test_misclassified_most_confident_first():
    indices, predicted, confidence = misclassified(Y_TRUE, LABELS, PROBABILITIES)
    assert indices.tolist() == [2, 3, 1, 5]
    assert predicted.tolist() == [1, 1, 0, 0]
    assert confidence == pytest.approx([0.9, 0.7, 0.6, 0.6])


def test_misclassified_filters_by_true_and_predicted_digit():
    assert misclassified(Y_TRUE, LABELS, PROBABILITIES, true_digit=2)[0].tolist() == [2, 5]
    assert misclassified(Y_TRUE, LABELS, PROBABILITIES, predicted_digit=0)[0].tolist() == [1, 5]
    assert misclassified(Y_TRUE, LABELS, PROBABILITIES, true_digit=2, predicted_digit=0)[0].tolist() == [5]
    assert misclassified(Y_TRUE, LABELS, PROBABILITIES, true_digit=0, predicted_digit=2)[0].tolist() == []


class FixedModel:
    """Stands in for a Keras model: predict() returns fixed probabilities."""

    def __init__(self, probabilities):
        self.probabilities = probabilities
        self.seen = None

    def predict(self, x, batch_size, verbose):
        self.seen = x.shape
        return self.probabilities


def test_evaluate_and_store_writes_both_files(tmp_path):
    x = np.zeros((6, 28, 28), np.uint8)
    model = FixedModel(PROBABILITIES.astype(np.float32))
    evaluation = evaluate_and_store(tmp_path, model, x, Y_TRUE, model_file="model.keras")
    assert model.seen == (6, 28, 28, 1)
    assert evaluation["accuracy"] == pytest.approx(2 / 6) and evaluation["model_file"] == "model.keras"
    assert atomic_files.read_json(tmp_path / layout.EVALUATION_FILE)["errors"] == 4
    with np.load(tmp_path / layout.PREDICTIONS_FILE) as stored:
        assert stored["labels"].tolist() == [0, 0, 1, 1, 1, 0]
        assert stored["probabilities"].dtype == np.float16
        assert stored["y_true"].tolist() == Y_TRUE.tolist()


# Float32 probabilities whose top two differ by less than float16 can tell apart: both round to
# 0.5 in float16, where argmax would pick the first (digit 0) and call the digit-1 answer a mistake.
NEAR_TIE = np.array([[0.49990, 0.50010, 0.0], [0.9, 0.05, 0.05]], dtype=np.float32)
NEAR_TIE_TRUE = np.array([1, 0])


def test_stored_labels_evaluation_and_gallery_agree_on_a_float16_tie(tmp_path):
    assert NEAR_TIE.astype(np.float16)[0, 0] == NEAR_TIE.astype(np.float16)[0, 1]  # The tie.
    evaluation = evaluate_and_store(
        tmp_path, FixedModel(NEAR_TIE), np.zeros((2, 28, 28), np.uint8), NEAR_TIE_TRUE
    )
    with np.load(tmp_path / layout.PREDICTIONS_FILE) as archive:
        stored = {name: archive[name] for name in archive.files}
    assert stored["labels"].tolist() == [1, 0]  # From float32, not from the float16 copy.
    assert evaluation["errors"] == 0 and evaluation["confusion_matrix"][1][1] == 1
    indices, _, _ = misclassified(stored["y_true"], stored["labels"], stored["probabilities"])
    assert len(indices) == evaluation["errors"]


def test_gallery_confidence_is_the_stored_probability_of_the_stored_label():
    probabilities = NEAR_TIE.astype(np.float16)
    _, predicted, confidence = misclassified(np.array([0, 0]), np.array([1, 0]), probabilities)
    assert predicted.tolist() == [1]
    assert confidence.tolist() == [float(probabilities[0, 1])]

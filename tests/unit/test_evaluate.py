"""The evaluation maths, checked against a small case worked out by hand."""

import math

import numpy as np
import pytest

from core.serving.evaluate import (
    confusion_matrix,
    cross_entropy,
    evaluate_predictions,
    per_class_metrics,
    predicted_labels,
)

# Three classes, six digits. Rows are true labels, columns predictions:
#   true 0 -> predicted 0, 1      true 1 -> 1, 1      true 2 -> 2, 0
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 2, 0])
EXPECTED_CONFUSION = [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    confusion = confusion_matrix(Y_TRUE, Y_PRED, num_classes=3)
    assert confusion.tolist() == EXPECTED_CONFUSION
    assert confusion_matrix([3], [7]).shape == (10, 10)
    assert confusion_matrix([3], [7])[3, 7] == 1


def test_per_class_metrics_match_hand_computation():
    rows = per_class_metrics(np.array(EXPECTED_CONFUSION))
    expected = [
        # precision = hits / predicted, recall = hits / support, f1 = harmonic mean
        {"digit": 0, "precision": 1 / 2, "recall": 1 / 2, "f1": 1 / 2, "support": 2},
        {"digit": 1, "precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2},
        {"digit": 2, "precision": 1.0, "recall": 1 / 2, "f1": 2 / 3, "support": 2},
    ]
    for row, want in zip(rows, expected, strict=True):
        assert row == pytest.approx(want)


def test_classes_never_predicted_or_absent_score_zero_not_nan():
    confusion = np.array([[2, 0], [0, 0]])  # Class 1 never occurs and is never predicted.
    rows = per_class_metrics(confusion)
    assert rows[1] == {"digit": 1, "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_cross_entropy_matches_keras_definition():
    probabilities = np.array([[0.5, 0.5], [0.25, 0.75], [1.0, 0.0]])
    expected = -(math.log(0.5) + math.log(0.75) + math.log(1e-7)) / 3
    assert cross_entropy([0, 1, 1], probabilities) == pytest.approx(expected)


def test_evaluate_predictions_summary():
    probabilities = np.full((6, 3), 0.1)
    probabilities[np.arange(6), Y_PRED] = 0.8
    result = evaluate_predictions(Y_TRUE, Y_PRED, probabilities)
    assert result["confusion_matrix"] == EXPECTED_CONFUSION
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert (result["count"], result["errors"]) == (6, 2)
    assert result["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    # Four digits put 0.8 on their true class, the two errors put 0.1 on it.
    expected_loss = -(4 * math.log(0.8) + 2 * math.log(0.1)) / 6
    assert result["loss"] == pytest.approx(expected_loss)


def test_counts_come_from_the_given_labels_not_the_probabilities():
    # Every row ties, so an argmax of these probabilities would say 0 throughout.
    result = evaluate_predictions(Y_TRUE, Y_PRED, np.full((6, 3), 1 / 3))
    assert result["confusion_matrix"] == EXPECTED_CONFUSION and result["errors"] == 2


def test_predicted_labels_are_uint8_from_full_precision():
    probabilities = np.array([[0.49990, 0.50010, 0.0]], dtype=np.float32)
    labels = predicted_labels(probabilities)
    assert labels.dtype == np.uint8 and labels.tolist() == [1]

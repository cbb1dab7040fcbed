"""How well a model classifies the test digits, from its predicted probabilities.

Pure NumPy, so the worker computes a run's evaluation once and the pages read it back without
TensorFlow. Rows of a confusion matrix are true digits and columns are predicted digits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.runs import atomic_files, layout

NUM_CLASSES = 10

# Keras clips probabilities to this before taking the log, so the loss here matches its own.
EPSILON = 1e-7


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Counts of (true, predicted) pairs as an int64 (num_classes, num_classes) array."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    pairs = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return pairs.reshape(num_classes, num_classes)


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, with 0 where the denominator is 0 (the scikit-learn convention)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def per_class_metrics(confusion: np.ndarray) -> list[dict[str, Any]]:
    """Precision, recall, F1 and support of each digit.

    A digit that is never predicted has precision 0, and one that never occurs has recall 0,
    rather than NaN, so tables and JSON stay plain numbers.
    """
    confusion = np.asarray(confusion)
    hits = np.diag(confusion)
    support = confusion.sum(axis=1)
    precision = _safe_ratio(hits, confusion.sum(axis=0))
    recall = _safe_ratio(hits, support)
    f1 = _safe_ratio(2 * precision * recall, precision + recall)
    return [
        {
            "digit": digit,
            "precision": float(precision[digit]),
            "recall": float(recall[digit]),
            "f1": float(f1[digit]),
            "support": int(support[digit]),
        }
        for digit in range(len(confusion))
    ]


def cross_entropy(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean sparse categorical cross-entropy, as Keras computes it from probabilities."""
    y_true = np.asarray(y_true, dtype=np.int64)
    picked = np.asarray(probabilities, dtype=np.float64)[np.arange(len(y_true)), y_true]
    return float(-np.log(np.clip(picked, EPSILON, 1.0 - EPSILON)).mean())


def is_complete(evaluation: Any) -> bool:
    """Whether a stored evaluation has every field the pages show (an old or damaged file may not)."""
    required = ("loss", "accuracy", "count", "errors", "confusion_matrix", "per_class", "macro_f1")
    return isinstance(evaluation, dict) and all(key in evaluation for key in required)


def predicted_labels(probabilities: np.ndarray) -> np.ndarray:
    """Each digit's answer as uint8, taken once from the full-precision probabilities.

    Every count (confusion matrix, errors, the misclassified gallery) derives from these stored
    labels: re-taking the argmax from the float16 copy in predictions.npz can flip a near tie.
    """
    return np.asarray(probabilities, dtype=np.float32).argmax(axis=1).astype(np.uint8)


def evaluate_predictions(y_true: np.ndarray, labels: np.ndarray, probabilities: np.ndarray) -> dict[str, Any]:
    """The evaluation stored in a run's evaluation.json.

    `labels` are the predicted digits (see `predicted_labels`), the one source of every count;
    `probabilities` only give the loss. Keys: loss, accuracy, count, errors, confusion_matrix
    (nested lists of counts), per_class (see `per_class_metrics`), macro_precision, macro_recall,
    macro_f1.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    confusion = confusion_matrix(y_true, labels, num_classes=np.shape(probabilities)[1])
    per_class = per_class_metrics(confusion)
    correct = int(np.trace(confusion))
    return {
        "loss": cross_entropy(y_true, probabilities),
        "accuracy": correct / len(y_true),
        "count": len(y_true),
        "errors": len(y_true) - correct,
        "confusion_matrix": confusion.tolist(),
        "per_class": per_class,
        "macro_precision": float(np.mean([row["precision"] for row in per_class])),
        "macro_recall": float(np.mean([row["recall"] for row in per_class])),
        "macro_f1": float(np.mean([row["f1"] for row in per_class])),
    }


# --- Comparing runs: where a model goes wrong -------------------------------------------------

# Activations of a 1024-digit batch cost a CNN ~150 MB of memory that stays with the process;
# 256 digits take a third of that and predict as fast.
PREDICT_BATCH_SIZE = 256


def row_normalised(confusion: np.ndarray) -> np.ndarray:
    """Each row divided by its total: the share of each true digit given each prediction.

    The diagonal is then each digit's recall; a digit absent from the data gets a row of zeros.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    return _safe_ratio(confusion, np.broadcast_to(confusion.sum(axis=1, keepdims=True), confusion.shape))


def most_confused_pairs(confusion: np.ndarray, top: int = 10) -> list[dict[str, Any]]:
    """The off-diagonal cells with the most digits, largest first.

    Each: true, predicted, count, and share (count / digits of the true class). Ties are broken
    by true then predicted digit, so the order is stable; empty cells are left out.
    """
    confusion = np.asarray(confusion, dtype=np.int64)
    support = confusion.sum(axis=1)
    cells = [
        (int(confusion[t, p]), t, p)
        for t in range(len(confusion))
        for p in range(len(confusion))
        if t != p and confusion[t, p] > 0
    ]
    cells.sort(key=lambda cell: (-cell[0], cell[1], cell[2]))
    return [
        {"true": t, "predicted": p, "count": count, "share": count / support[t]}
        for count, t, p in cells[:top]
    ]


def misclassified(
    y_true: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
    true_digit: int | None = None,
    predicted_digit: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The wrongly classified digits, most confident mistakes first.

    `labels` are the stored predictions, so the gallery counts the same mistakes as the
    confusion matrix. Returns (indices, predicted labels, confidences) where confidence is the
    probability the model gave its (wrong) answer. Optionally only one true and/or one predicted
    digit; equal confidences keep dataset order.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    predicted = np.asarray(labels, dtype=np.int64)
    wrong = predicted != y_true
    if true_digit is not None:
        wrong &= y_true == true_digit
    if predicted_digit is not None:
        wrong &= predicted == predicted_digit
    indices = np.flatnonzero(wrong)
    confidence = np.asarray(probabilities, dtype=np.float32)[indices, predicted[indices]]
    order = np.argsort(-confidence, kind="stable")
    return indices[order], predicted[indices[order]], confidence[order]


def evaluate_and_store(
    run_path: Path, model: Any, x_test: np.ndarray, y_test: np.ndarray, **extra: Any
) -> dict[str, Any]:
    """Evaluate `model` on the test digits and store evaluation.json and predictions.npz.

    The one place a run's evaluation is computed: the worker calls it at the end of training,
    `core.queue.model_jobs` for runs and imports that lack one. `x_test` is (N, 28, 28) uint8 on the
    model contract's 0-255 scale; `extra` keys (e.g. which model file) go into the JSON.
    """
    probabilities = np.asarray(model.predict(x_test[..., None], batch_size=PREDICT_BATCH_SIZE, verbose=0))
    labels = predicted_labels(probabilities)
    evaluation = {"dataset": "test", **evaluate_predictions(y_test, labels, probabilities), **extra}
    run_path = Path(run_path)
    atomic_files.write_json(run_path / layout.EVALUATION_FILE, evaluation)
    with atomic_files.atomic_path(run_path / layout.PREDICTIONS_FILE, suffix=".npz") as temp:
        np.savez_compressed(
            temp,
            labels=labels,
            probabilities=probabilities.astype(np.float16),
            y_true=np.asarray(y_test),
        )
    return evaluation

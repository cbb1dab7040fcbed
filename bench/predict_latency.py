"""How long does the predict page take from a stroke's image arriving to the probabilities?

Times exactly the server-side path of one canvas update: the canvas's PNG data URL decoded the
way streamlit-drawable-canvas 0.13's `CanvasResult.image_data` does it, MNIST-style preprocessing
(`core.serving.prediction.preprocess_canvas`) and one `Classifier.probabilities` call on the LiteRT model
the server predicts with (`core.serving.inference.load_classifier(<run folder>/model.tflite)`), for
`--strokes` canvas images (MNIST test digits drawn white on black at the 280 x 280 canvas size,
shifted off-centre), each after what Streamlit does between two reruns. It runs twice: with
nothing of ours training, then while a fast-cnn training run that this script starts itself
(`python -m core.train` into a temporary runs folder, at the job queue's niceness unless
`--train-niceness` says otherwise) is fitting; that run is stopped and deleted afterwards.
Targets on the 2-core CPU: p95 <= 6 ms idle, <= 12 ms while a run trains.

    python bench/predict_latency.py                      # the shipped model
    python bench/predict_latency.py --model PATH         # any model.tflite (or its run folder)
    python bench/predict_latency.py --train-niceness 0   # the training run at normal priority
"""

from __future__ import annotations

import argparse
import base64
import gc
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Lets the script run as a plain file as well as with `python -m bench.predict_latency`.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from core.data.mnist import load_mnist  # noqa: E402
from core.queue.jobs import JOB_NICENESS  # noqa: E402
from core.runs import layout, registry
from core.serving import prediction
from core.serving.inference import load_classifier  # noqa: E402
from tests import train_command  # noqa: E402

CANVAS = 280
TRAINING_START_TIMEOUT_S = 300


def shipped_model_path() -> Path:
    for run in registry.list_runs(include_shipped=True):
        path = run.path / layout.LITE_MODEL_FILE
        if run.shipped and path.is_file():
            return path
    raise SystemExit(f"no shipped model.tflite under {layout.SHIPPED_MODELS_DIR}; pass --model PATH")


def lite_model_path(path: Path) -> Path:
    """A model.tflite, given it or the run folder that holds it."""
    return path / layout.LITE_MODEL_FILE if path.is_dir() else path


def canvas_data_urls(count: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Test digits as the canvas sends them: RGBA PNG data URLs, white on opaque black."""
    data = load_mnist()
    rng = np.random.default_rng(seed)
    indices = rng.choice(len(data.y_test), count, replace=False)
    urls = []
    for index in indices:
        size = int(rng.integers(150, 240))
        digit = Image.fromarray(data.x_test[index]).resize((size, size), Image.Resampling.BILINEAR)
        field = Image.new("L", (CANVAS, CANVAS), 0)
        field.paste(digit, tuple(int(v) for v in rng.integers(0, CANVAS - size + 1, 2)))
        rgba = Image.merge("RGBA", (field, field, field, Image.new("L", field.size, 255)))
        buffer = io.BytesIO()
        rgba.save(buffer, format="PNG")
        urls.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"))
    return urls, data.y_test[indices]


def decode_canvas_url(url: str) -> np.ndarray:
    """`CanvasResult.image_data`, line for line (importing the component needs a running server)."""
    _, encoded = url.split(";base64,", 1)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))))


def between_strokes(gap_s: float) -> None:
    """What happens on the server between two strokes, untimed.

    After every script run Streamlit runs a full garbage collection (`runner.postScriptGC`);
    the server no longer imports TensorFlow, so its Keras cleanup has nothing to clear. Then the
    server idles until the next stroke.
    """
    gc.collect(2)
    time.sleep(gap_s)


def measure(classifier, urls: list[str], labels: np.ndarray, gap_s: float) -> dict[str, float]:
    """Wall time per stroke, and the median of each stage: decode, preprocess, model call."""
    seconds, stages, correct = [], [], 0
    for url, label in zip(urls, labels, strict=True):
        between_strokes(gap_s)
        started = time.perf_counter()
        image = decode_canvas_url(url)
        decoded = time.perf_counter()
        digit = prediction.preprocess_canvas(image)
        preprocessed = time.perf_counter()
        probabilities = classifier.probabilities(digit.pixels)
        done = time.perf_counter()
        seconds.append(done - started)
        stages.append((decoded - started, preprocessed - decoded, done - preprocessed))
        correct += int(np.argmax(probabilities) == label)
    ms = 1000 * np.asarray(seconds)
    decode_ms, preprocess_ms, model_ms = np.median(1000 * np.asarray(stages), axis=0)
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(ms.max()),
        "decode_p50_ms": float(decode_ms),
        "preprocess_p50_ms": float(preprocess_ms),
        "model_p50_ms": float(model_ms),
        "accuracy": correct / len(labels),
        "load_1min": os.getloadavg()[0],
    }


def start_training(runs_dir: Path, niceness: int) -> subprocess.Popen:
    """A fast-cnn run (20 epochs, so it outlasts the measurement), niced like the job queue's."""
    command = train_command("fast-cnn", runs_dir, "--epochs", "20", "--name", "latency bench load")
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=lambda: os.nice(niceness),
    )
    deadline = time.monotonic() + TRAINING_START_TIMEOUT_S
    while time.monotonic() < deadline:  # Wait until it is fitting batches, not importing.
        if process.poll() is not None:
            raise SystemExit(f"the training run exited early with code {process.returncode}")
        metrics = list(runs_dir.glob("*/metrics.jsonl"))
        if metrics and metrics[0].stat().st_size > 0:
            return process
        time.sleep(0.5)
    stop_training(process)
    raise SystemExit("the training run did not start fitting in time")


def stop_training(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", type=Path, help="a model.tflite or its run folder (default: the shipped model)"
    )
    parser.add_argument("--strokes", type=int, default=300)
    parser.add_argument("--gap", type=float, default=0.05, help="idle seconds between strokes")
    parser.add_argument("--skip-training", action="store_true", help="only the idle measurement")
    parser.add_argument(
        "--train-niceness",
        type=int,
        default=JOB_NICENESS,
        help=f"niceness of the training run (default {JOB_NICENESS}, as the job queue starts runs)",
    )
    args = parser.parse_args(argv)

    path = lite_model_path(args.model.resolve()) if args.model else shipped_model_path()
    classifier = load_classifier(path)
    urls, labels = canvas_data_urls(args.strokes)
    measure(classifier, urls[:20], labels[:20], args.gap)  # Warm caches the way a first few strokes would.
    results = {
        "model": str(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path),
        "strokes": args.strokes,
        "cpu_count": os.cpu_count(),
        "train_niceness": args.train_niceness,
    }
    results["idle"] = measure(classifier, urls, labels, args.gap)
    print(f"no training:     {_line(results['idle'])}", flush=True)
    if not args.skip_training:
        runs_dir = Path(tempfile.mkdtemp(prefix="predict-latency-runs-"))
        try:
            process = start_training(runs_dir, args.train_niceness)
            try:
                results["training"] = measure(classifier, urls, labels, args.gap)
            finally:
                stop_training(process)
        finally:
            shutil.rmtree(runs_dir, ignore_errors=True)
        print(f"while training:  {_line(results['training'])}")
    print(json.dumps(results))
    return 0


def _line(result: dict[str, float]) -> str:
    return (
        f"p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, max {result['max_ms']:.1f} ms "
        f"(medians: decode {result['decode_p50_ms']:.1f}, preprocess {result['preprocess_p50_ms']:.1f}, "
        f"model {result['model_p50_ms']:.2f} ms; accuracy {100 * result['accuracy']:.1f}%, "
        f"1-min load average {result['load_1min']:.1f})"
    )


if __name__ == "__main__":
    sys.exit(main())

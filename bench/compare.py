"""Did a change make the product slower? The key benchmarks on two commits, in one sitting.

    python bench/compare.py BASE [HEAD]          # HEAD defaults to the checked-out commit
    python bench/compare.py 7579d35 --only training --repeats 3

Each commit is checked out in a temporary git worktree and measured with this environment's
Python (the same packages for both), alternating the two commits (and, for training, a plain
Keras script) within each repeat, so load from anything else hits them alike. Only command-line
entry points, bench scripts and HTTP are driven, never the project's modules, so the guard keeps
working when modules move:

- training: `python -m core.train --preset P --epochs N --runs-dir DIR` for the seed MLP
  (3 epochs) and the Fast CNN (1 epoch): whole-process wall and system seconds, the worker's
  peak RSS, and samples/s of the last epoch (metrics.jsonl). Beside them a plain Keras script
  of the same network and split (`model.fit` on float32 arrays, written here), which is what a
  user would compare the dashboard with;
- predict: `bench/predict_latency.py` (p95 of stroke to probabilities, idle and while a run
  trains);
- server: `bench/server_footprint.py` (server RSS after visiting every page, the first Predict
  visit's time to a ready canvas) with Chromium.

It prints one table of medians with the ratio HEAD / BASE, and with --json writes every figure.
A change to training, preprocessing, inference or page start-up runs this against the previous
release before it is resolved; BENCHMARKS.md keeps the table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TRAINING = {"seed-mlp": 3, "fast-cnn": 1}  # preset -> epochs, each a whole process
VALIDATION_SIZE = 5000  # Both presets hold out 5,000 of the 60,000 training digits.

# The plain Keras programs the dashboard's training is held against, written like Keras'
# mnist_mlp.py: the presets' networks, the same 55,000 / 5,000 split, `model.fit` on float32
# arrays, then the test set's score. The digits come from the app's uint8 cache (as fast to read
# as Keras' own mnist.npz); the dashboard also saves, converts and evaluates in more detail.
PLAIN_SCRIPT = """
import json, os, sys, time
import numpy as np
import keras

PRESET, EPOCHS, DATA, HELD_OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
with np.load(DATA) as arrays:
    images, labels = arrays["x_train"], arrays["y_train"]
    x_test, y_test = arrays["x_test"][..., None].astype("float32"), arrays["y_test"]
order = np.random.default_rng(0).permutation(len(labels))
held_out, fitted = order[:HELD_OUT], order[HELD_OUT:]
x_fit, y_fit = images[fitted][..., None].astype("float32"), labels[fitted]
x_val, y_val = images[held_out][..., None].astype("float32"), labels[held_out]
keras.utils.set_random_seed(0)
layers = keras.layers
if PRESET == "seed-mlp":
    body = [layers.Flatten(), layers.Dense(512, activation="relu"), layers.Dropout(0.2),
            layers.Dense(512, activation="relu"), layers.Dropout(0.2)]
    optimizer = keras.optimizers.RMSprop(0.001)
else:
    body = [layers.Conv2D(16, 5, padding="same", activation="relu"), layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
            layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.3)]
    steps = EPOCHS * -(-len(y_fit) // 128)
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(0.003, steps))
model = keras.Sequential([keras.Input((28, 28, 1)), layers.Rescaling(1 / 255), *body,
                          layers.Dense(10, activation="softmax")])
model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])


class EpochSeconds(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.started


timer = EpochSeconds()
model.fit(x_fit, y_fit, batch_size=128, epochs=EPOCHS, validation_data=(x_val, y_val),
          callbacks=[timer], verbose=0)
model.evaluate(x_test, y_test, verbose=0)  # As Keras' mnist_mlp.py ends.
print(json.dumps({"samples": len(y_fit), "last_epoch_seconds": timer.seconds}))
"""


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=PROJECT_ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def run_measured(command: list[str], cwd: Path, env: dict[str, str]) -> dict[str, float]:
    """Run a whole process; its wall and system seconds and peak RSS (from wait4's rusage)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{output.decode(errors='replace')[-3000:]}")
    return {
        "wall_s": wall,
        "system_s": usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "output": output.decode(errors="replace"),
    }


def last_epoch_samples_per_s(runs_dir: Path) -> float:
    """Training digits over the last epoch's seconds, from the one run's status and metrics."""
    (run,) = [path for path in runs_dir.iterdir() if (path / "metrics.jsonl").is_file()]
    samples = json.loads((run / "status.json").read_text())["training_samples"]
    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line]
    return samples / [record for record in epochs if record.get("kind") == "epoch"][-1]["seconds"]


def train_dashboard(tree: Path, preset: str, epochs: int, env: dict[str, str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="compare-runs-") as runs:
        command = [PYTHON, "-m", "core.train", "--preset", preset, "--epochs", str(epochs)]
        result = run_measured([*command, "--runs-dir", runs], tree, env)
        result["samples_per_s"] = last_epoch_samples_per_s(Path(runs))
    return result


def train_plain(script: Path, preset: str, epochs: int, data: Path, env: dict[str, str]) -> dict[str, float]:
    command = [PYTHON, str(script), preset, str(epochs), str(data), str(VALIDATION_SIZE)]
    result = run_measured(command, script.parent, env)
    figures = json.loads(result["output"].strip().splitlines()[-1])
    result["samples_per_s"] = figures["samples"] / figures["last_epoch_seconds"]
    return result


def predict_latency(tree: Path, env: dict[str, str]) -> dict[str, float]:
    result = run_measured([PYTHON, "bench/predict_latency.py", "--strokes", "300"], tree, env)
    figures = json.loads(result["output"].strip().splitlines()[-1])
    return {"p95_idle_ms": figures["idle"]["p95_ms"], "p95_training_ms": figures["training"]["p95_ms"]}


def server_footprint(tree: Path, env: dict[str, str]) -> dict[str, float]:
    """The server's figures, taken by this checkout's browser script in either tree: it drives
    only the command line and the pages, and an older copy may no longer find its way around the
    pages it was written for."""
    harness = tree / "bench" / "server_footprint.py"
    harness.write_bytes((PROJECT_ROOT / "bench" / "server_footprint.py").read_bytes())
    with tempfile.NamedTemporaryFile(suffix=".json") as output:
        command = [PYTHON, str(harness), "--watchers", "poll", "--no-training"]
        run_measured([*command, "--idle-seconds", "5", "--json", output.name], tree, env)
        (figures,) = json.loads(Path(output.name).read_text())
    return {
        "rss_after_every_page_mb": figures["rss_mb"],
        "first_predict_visit_s": figures["canvas_ready_s"],
    }


def measure(trees: dict[str, Path], parts: list[str], repeats: int, data: Path) -> dict[str, dict]:
    """figures[metric][side] = one value per repeat; sides alternate which goes first."""
    env = {**os.environ, "MNIST_DATA_DIR": str(data.parent), "TF_CPP_MIN_LOG_LEVEL": "2"}
    figures: dict[str, dict[str, list[float]]] = {}

    def record(prefix: str, side: str, values: dict[str, float]) -> None:
        for key, value in values.items():
            if isinstance(value, float | int):
                figures.setdefault(f"{prefix} {key}", {}).setdefault(side, []).append(float(value))

    with tempfile.TemporaryDirectory(prefix="compare-plain-") as folder:
        plain = Path(folder) / "plain_keras.py"
        plain.write_text(PLAIN_SCRIPT)
        failed: set[str] = set()
        for repeat in range(repeats):
            sides = list(trees) if repeat % 2 == 0 else list(reversed(trees))
            for part in [part for part in parts if part not in failed]:
                for side in sides:
                    print(f"  repeat {repeat + 1}: {part} on {side}...", flush=True)
                    try:
                        if part == "training":
                            for preset, epochs in TRAINING.items():
                                figures_now = train_dashboard(trees[side], preset, epochs, env)
                                record(f"{preset} x{epochs}", side, figures_now)
                        elif part == "predict":
                            record("predict", side, predict_latency(trees[side], env))
                        else:
                            record("server", side, server_footprint(trees[side], env))
                    except SystemExit as error:  # One part failing leaves the others' figures.
                        print(f"  {part} failed on {side}, left out from here on: {error}", flush=True)
                        failed.add(part)
                        break
                if part == "training" and part not in failed:
                    for preset, epochs in TRAINING.items():
                        print(f"  repeat {repeat + 1}: {preset} as a plain Keras script...", flush=True)
                        record(f"{preset} x{epochs}", "plain", train_plain(plain, preset, epochs, data, env))
    return figures


def table(figures: dict[str, dict[str, list[float]]], base: str, head: str) -> str:
    lines = [
        f"| measure (median) | {base} | {head} | {head} / {base} | plain Keras | {head} / plain |",
        "|---|---|---|---|---|---|",
    ]
    for metric, sides in figures.items():
        medians = {side: statistics.median(values) for side, values in sides.items()}
        if base not in medians or head not in medians:
            continue
        cells = [f"{medians[base]:.3g}", f"{medians[head]:.3g}", f"{medians[head] / medians[base]:.2f}"]
        if "plain" in medians:
            cells += [f"{medians['plain']:.3g}", f"{medians[head] / medians['plain']:.2f}"]
        else:
            cells += ["", ""]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def mnist_cache() -> Path:
    """The uint8 cache the app writes on first use; made here, through the app's loader, if absent."""
    folder = Path(os.environ.get("MNIST_DATA_DIR", PROJECT_ROOT / ".cache" / "mnist"))
    path = folder / "mnist-uint8.npz"
    if not path.is_file():
        loader = "from core.data.mnist import load_mnist; load_mnist()"
        subprocess.run([PYTHON, "-c", loader], cwd=PROJECT_ROOT, check=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the commit to compare against (e.g. the previous release)")
    parser.add_argument("head", nargs="?", default="HEAD", help="the commit measured (default HEAD)")
    parser.add_argument("--only", default="training,predict,server", help="comma-separated parts")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args(argv)
    parts = args.only.split(",")
    unknown = set(parts) - {"training", "predict", "server"}
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")

    data = mnist_cache()
    refs = {"base": args.base, "head": args.head}
    names = {side: git("rev-parse", "--short", ref) for side, ref in refs.items()}
    with tempfile.TemporaryDirectory(prefix="compare-trees-") as folder:
        trees = {}
        for side, commit in names.items():
            trees[commit] = Path(folder) / side
            git("worktree", "add", "--detach", str(trees[commit]), commit)
        try:
            what = f"{', '.join(parts)}, {args.repeats} repeat(s)"
            print(f"comparing {names['head']} against {names['base']}: {what}", flush=True)
            figures = measure(trees, parts, args.repeats, data)
        finally:
            for tree in trees.values():
                git("worktree", "remove", "--force", str(tree))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(table(figures, names["base"], names["head"]))
    if args.json:
        args.json.write_text(json.dumps({"commits": names, "figures": figures}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the runs page shows about a run: a progress line and the table of recent runs."""

from __future__ import annotations

import re

import pandas as pd

from core.runs.registry import RunRecord


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


# What a worker is doing before and after its epochs, from the first second of its life:
# starting TensorFlow alone takes several seconds.
PHASE_TEXTS = {
    "starting": "starting TensorFlow",
    "loading": "loading the 70,000 digits",
    "compiling": "building and compiling the model",
    "saving": "saving the model",
    "evaluating": "evaluating on the 10,000 test digits",
}


def progress(run: RunRecord) -> tuple[float, str]:
    """The fraction of the run done, and a line saying where it is."""
    p = run.progress
    epochs = p.get("epochs") or (run.config.epochs if run.config else 0)
    phase = run.status.get("phase")
    if phase in PHASE_TEXTS and run.is_live:
        done = p.get("epochs_completed", 0) / epochs if epochs else 0.0
        return min(done, 1.0), PHASE_TEXTS[phase] + "..."
    if not p or not epochs:
        return 0.0, "waiting for the worker to start" if run.state == "running" else run.state
    steps = p.get("batches_per_epoch") or 1
    done = (p.get("epoch", 1) - 1 + p.get("batch", 0) / steps) / epochs
    parts = [f"epoch {p.get('epoch')}/{epochs}", f"batch {p.get('batch')}/{steps}"]
    if run.status.get("phase") == "validating":
        parts.append("validating")
    if p.get("samples_per_sec"):
        parts.append(f"{p['samples_per_sec']:,.0f} samples/s")
    if run.is_live and p.get("eta_seconds") is not None:
        parts.append(f"{format_duration(p['eta_seconds'])} left")
    return min(max(done, 0.0), 1.0), " · ".join(parts)


def runs_table(runs: list[RunRecord]) -> pd.DataFrame:
    rows = []
    for run in runs:
        planned = run.config.epochs if run.config else "?"
        accuracy = run.status.get("test_accuracy")
        rows.append(
            {
                "name": run.name,
                "state": run.state,
                "model": run.description,
                "epochs": f"{run.progress.get('epochs_completed', 0)}/{planned}",
                # Text, so a run not yet tested reads as such rather than a grey "None".
                "test accuracy": f"{100 * accuracy:.2f}%"
                if accuracy is not None
                else ("after training" if run.is_active else "–"),
                "device": run.status.get("device") or "",
                "created": run.created[:19].replace("T", " "),
            }
        )
    return pd.DataFrame(rows)


# TensorFlow's own C++ start-up lines ("failed call to cuInit" on a machine without a GPU, CPU
# instruction notices, plugin registrations): noise for a user, kept in worker.log on disk.
_TENSORFLOW_NOISE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] "  # TensorFlow's own log format
    r"|[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] "  # absl's, in newer TensorFlow
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: .* rebuild TensorFlow)"
)


def user_log(log: str) -> tuple[str, int]:
    """The worker log without TensorFlow's C++ start-up noise (fatal errors stay), and how many
    lines were left out; the run's progress, results and Python tracebacks all stay."""
    lines = log.splitlines()
    kept = [line for line in lines if not _TENSORFLOW_NOISE.match(line)]
    return "\n".join(kept), len(lines) - len(kept)

"""Peak memory the server spends refusing hostile uploads (issue 10): `python -m bench.zip_bomb_rss`.

`python -m bench.zip_bomb_rss --import-job [--project DIR]` measures instead the import job's
process (issue 19): its peak RSS importing the shipped model, and the forged zip of issue 19
(1.5 GB of zeros declared as 900,000 bytes, built by tests/forged_archives.py), each queued
directly (past the server's checks, as an older server let it through) and run by
`python -m core.jobs` of the project in DIR (default: this one; a worktree of an older
commit measures that commit).

Each payload is built here, then checked in a fresh Python process exactly as the server checks
it (`importer.check_archive` for a model, `prediction.preprocess_upload` for an image); that
process reports its peak RSS (VmHWM) before and after the check, so the figure is what the check
itself added. Target: <= 100 MB for the zip bomb and the big RGBA PNG.

Payloads:
- zip bomb: a .keras whose config.json inflates to 1 GB (1 MB packed), its size stated truly;
- forged zip bomb: the same, with the central directory claiming a 100-byte config.json;
- deep config: a 1 MB config.json of nested brackets;
- big RGBA PNG: 7000x7000, all zero (190 KB), under the 50-megapixel cap;
- the largest RGBA and RGB PNGs accepted, reduced right after decoding, and a 12 MP JPEG.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from PIL import Image

from tests.forged_archives import forged_keras

PROJECT = Path(__file__).resolve().parent.parent
CHUNK = 1 << 20

CHILD = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, {project!r})
try:
    from core.data import uploads as preprocess  # Where ImageError lives since core/ was split.
    from core.queue import imports as importer
    from core.serving import prediction
except ImportError:  # A tree from before core/ was split into packages.
    from core import importer, prediction, preprocess

def hwm():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

data = Path({path!r}).read_bytes()
before = hwm()
start = time.perf_counter()
try:
    if {kind!r} == "model":
        importer.check_archive(data, "upload.keras")
        outcome = "accepted"
    else:
        prediction.preprocess_upload(data, 10 * 1024 * 1024)
        outcome = "accepted"
except (importer.ImportRefused, preprocess.ImageError) as error:
    outcome = "refused: " + str(error)
print(f"{{hwm() - before:.1f}}\t{{time.perf_counter() - start:.2f}}\t{{outcome}}")
"""


def config_bomb(size: int) -> bytes:
    """A .keras-looking zip whose config.json is `size` spaces (deflated ~1000:1)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", "{}")
        with archive.open("config.json", "w") as member:
            for _ in range(size // CHUNK):
                member.write(b" " * CHUNK)
    return buffer.getvalue()


def forged(archive: bytes, name: str, declared: int) -> bytes:
    """`archive` with `name`'s uncompressed size in the central directory replaced by `declared`."""
    entry = archive.find(b"PK\x01\x02")
    while archive[entry + 46 : entry + 46 + len(name)] != name.encode():
        entry = archive.find(b"PK\x01\x02", entry + 4)
    return archive[: entry + 24] + declared.to_bytes(4, "little") + archive[entry + 28 :]


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def measure(kind: str, data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".bin") as handle:
        handle.write(data)
        handle.flush()
        code = CHILD.format(project=str(PROJECT), path=handle.name, kind=kind)
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


QUEUE_IMPORT = r"""
import sys
sys.path.insert(0, {project!r})
from pathlib import Path
try:
    from core.queue import imports as importer, jobs
    upload_path = importer.upload_path
except ImportError:  # A tree from before core/ was split into packages.
    from core import importer, jobs
    upload_path = importer._upload_path
jobs.request("import", "bench", payload={{"filename": {filename!r}, "name": "bench", "run_meta": {{}}}})
upload_path("bench").write_bytes(Path({path!r}).read_bytes())
"""


def import_job_peak(project: Path, data: bytes, filename: str) -> tuple[float, float, str]:
    """The import job's peak RSS (MB), seconds and outcome, for `data` queued in a fresh runs folder."""
    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        upload = Path(folder) / "upload.keras"
        upload.write_bytes(data)
        env = {
            **os.environ,
            "MNIST_RUNS_DIR": str(Path(folder) / "runs"),
            "MNIST_DATA_DIR": str(PROJECT / ".cache" / "mnist"),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        code = QUEUE_IMPORT.format(project=str(project), filename=filename, path=str(upload))
        subprocess.run([sys.executable, "-c", code], env=env, cwd=project, check=True)
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "core.jobs", "import", "bench"],
            env=env,
            cwd=project,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        record = json.loads((Path(folder) / "runs" / ".jobs" / "import--bench.json").read_text())
    outcome = record["state"] if record["state"] == "done" else f"{record['state']}: {record['error']}"
    return usage.ru_maxrss / 1024, seconds, f"{outcome} (exit {os.waitstatus_to_exitcode(status)})"


def import_jobs(project: Path) -> None:
    shipped = (PROJECT / "models" / "fast-cnn" / "model.keras").read_bytes()
    payloads = [
        ("the shipped fast CNN (a normal import)", shipped),
        ("forged zip: 1.5 GB of zeros declared as 900,000 bytes", forged_keras(shipped)),
    ]
    print("| import job | file size | peak RSS | seconds | outcome |")
    print("|---|---|---|---|---|")
    for name, data in payloads:
        peak, seconds, outcome = import_job_peak(project, data, "upload.keras")
        print(f"| {name} | {len(data) / 1e6:.2f} MB | {peak:,.0f} MB | {seconds:.1f} | {outcome[:110]} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--import-job", action="store_true", help="measure the import job's process instead")
    parser.add_argument("--project", type=Path, default=PROJECT, help="the project whose job runs")
    args = parser.parse_args()
    if args.import_job:
        import_jobs(args.project.resolve())
        return
    bomb = config_bomb(1 << 30)
    deep = io.BytesIO()
    with zipfile.ZipFile(deep, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "[" * 999_000)
    payloads = [
        ("zip bomb (1 GB config.json)", "model", bomb),
        ("forged zip bomb (declares 100 bytes)", "model", forged(bomb, "config.json", 100)),
        ("deep config (999,000 brackets)", "model", deep.getvalue()),
        ("7000x7000 RGBA PNG, all zero", "image", png(Image.new("RGBA", (7000, 7000)))),
        ("2828x2828 RGBA PNG (largest RGBA accepted)", "image", png(Image.new("RGBA", (2828, 2828)))),
        ("4000x4000 RGB PNG (largest RGB accepted)", "image", png(Image.new("RGB", (4000, 4000)))),
        ("12-megapixel JPEG photo (4000x3000)", "image", jpeg(Image.new("RGB", (4000, 3000), "white"))),
    ]
    print("| payload | file size | peak RSS increase | seconds | outcome |")
    print("|---|---|---|---|---|")
    for name, kind, data in payloads:
        increase, seconds, outcome = measure(kind, data).strip().split("\t", 2)
        print(f"| {name} | {len(data) / 1e6:.2f} MB | {increase} MB | {seconds} | {outcome[:90]} |")


if __name__ == "__main__":
    main()

"""Peak memory the server spends refusing hostile uploads (issue 10): `python -m bench.zip_bomb_rss`.

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

import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from PIL import Image

PROJECT = Path(__file__).resolve().parent.parent
CHUNK = 1 << 20

CHILD = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, {project!r})
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


def main() -> None:
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

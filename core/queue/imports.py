"""Import an uploaded .keras model as a run, so the predict and compare pages can use it.

The server only runs the static checks (`request_import`), then stores the upload and queues an
"import" job; the job process (core.jobs.import_body) loads the model with Keras, checks and
wraps it, registers the run, writes its LiteRT copy and evaluates it on the test set.

A model is accepted when Keras loads it in safe mode with built-in objects only, it has one
input of 28x28x1, 28x28 or 784 values and one output of 10 values. Everything downstream
expects the model contract (raw 0-255 input of shape (28, 28, 1), normalisation inside, softmax
output), so a model that differs is wrapped with built-in layers only, never rewritten:

    keras.Input((28, 28, 1)) -> [Rescaling(1/255)] -> [Reshape] -> the uploaded model -> [Softmax]

Whether it expects 0-255 or [0, 1] pixels is measured: both scales are tried on a sample of
training digits and the more accurate one wins (both accuracies are reported). The run folder is
written beside the trained runs (config.json holds a placeholder configuration; meta.json's
`imported` entry describes the real model) and evaluated on the test set in the background.

Static checks of the archive's config.json run before Keras deserialises anything, so a file
with custom code or a Lambda layer is refused without being loaded.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import struct
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from core.networks.config import ModelConfig
from core.queue import jobs, scheduler
from core.runs import access, atomic_files, limits
from core.runs.registry import RunRecord

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ACCEPTED_INPUTS = {(28, 28, 1): "28x28x1 image", (28, 28): "28x28 image", (784,): "784-value vector"}
SCALE_SAMPLE = 1000
POOR_ACCURACY = 0.5
SUM_TOLERANCE = 1e-3
# A Keras model's description is a few kilobytes (the fast CNN's: 6 KB); anything near this is
# not a plain model, and it is read in the server, so it is bounded before it is inflated.
MAX_CONFIG_BYTES = 1_000_000
# The whole archive once inflated; the weights of the largest model worth importing fit easily.
MAX_ARCHIVE_BYTES = 200_000_000
MAX_MEMBERS = 100
# Real weights barely compress; a member inflating more than this (past a megabyte) is a bomb.
MAX_RATIO = 100
BIG_MEMBER_BYTES = 1_000_000
# Members are inflated in slices of this many bytes at most, so checking one costs no more memory.
INFLATE_SLICE = 1 << 18
LOCAL_HEADER = struct.Struct("<4s22xHH")  # Signature, then the name's and the extra field's lengths.
# Keras configs nest a few levels per layer; this is far deeper than any model's, and shallow
# enough for Python's recursive JSON parser and for Keras' deserialisation.
MAX_NESTING = 64
UPLOADS_FOLDER = "uploads"
# config.json must exist and be valid, so an imported run carries this placeholder; the
# pages describe an imported model from meta.json instead.
PLACEHOLDER_CONFIG = ModelConfig(epochs=1)


class ImportRefused(jobs.JobRefused):
    """The file cannot be imported; the message is meant for the user."""


# --- Static checks, before anything is deserialised -----------------------------------------


def _walk(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def check_archive(data: bytes, filename: str = "the file") -> dict[str, Any]:
    """The archive's model config, or ImportRefused saying what is wrong with the file.

    Runs in the server on a hostile file, so nothing is inflated before the central directory's
    sizes pass; then every member is inflated in slices with a byte budget, since the directory's
    sizes may be forged, and config.json is read with a bounded read.
    """
    if not data:
        raise ImportRefused(f"{filename} is empty.")
    if data.startswith(HDF5_SIGNATURE):
        raise ImportRefused(
            f"{filename} is an old-style HDF5 (.h5) Keras file. Only the Keras 3 format is "
            "accepted: load it in Keras and save it again with model.save('model.keras')."
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_members(archive.infolist(), filename)
            _check_inflated(data, archive.infolist(), filename)
            text = _read_bounded(archive, "config.json", filename)
    except ImportRefused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, KeyError, ValueError, zlib.error):
        # ValueError: damaged header fields; zlib.error: a damaged deflate stream.
        raise ImportRefused(
            f"{filename} is not a Keras model file, or it is damaged: a .keras file is a zip "
            "archive written by model.save()."
        ) from None
    if _nesting_depth(text) > MAX_NESTING:
        raise ImportRefused(
            f"{filename} is refused: its model description is nested more than {MAX_NESTING} levels "
            "deep, far deeper than any real model's."
        )
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):
        raise ImportRefused(f"{filename} is damaged: its model description is not valid JSON.") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ImportRefused(f"{filename} is not a Keras model: its config.json describes no model.")
    # compile_config (loss, metrics) is ignored: the model is loaded without compiling.
    model_part = {key: value for key, value in config.items() if key != "compile_config"}
    for node in _walk(model_part):
        class_name = node.get("class_name")
        if not isinstance(class_name, str):
            continue
        if class_name == "Lambda":
            raise ImportRefused(
                f"{filename} contains a Lambda layer, which runs arbitrary Python code, so it is "
                "refused. Replace it with built-in layers and save the model again."
            )
        module = node.get("module")
        registered = node.get("registered_name")
        custom = (isinstance(module, str) and module.split(".")[0] != "keras") or (
            isinstance(registered, str) and registered != class_name and ">" in registered
        )
        if custom:
            where = registered or f"{module}.{class_name}"
            raise ImportRefused(
                f"{filename} uses custom code ({where}). Only models built from Keras' own "
                "layers can be loaded safely, so it is refused."
            )
    return config


def _check_members(members: list[zipfile.ZipInfo], filename: str) -> None:
    """Refuse an archive by what its central directory declares, before inflating anything."""
    too_big = _too_big(filename)
    if len(members) > MAX_MEMBERS:
        raise ImportRefused(
            f"{filename} is refused: it holds {len(members):,} files, not a Keras model's few."
        )
    names = {member.filename for member in members}
    if "config.json" not in names:
        raise ImportRefused(f"{filename} is a zip archive but not a Keras model (it has no config.json).")
    if sum(member.file_size for member in members) > MAX_ARCHIVE_BYTES:
        raise ImportRefused(too_big)
    for member in members:
        if member.filename == "config.json" and member.file_size > MAX_CONFIG_BYTES:
            raise ImportRefused(
                f"{filename} is refused: its model description is far larger than any digit classifier's."
            )
        if member.file_size > BIG_MEMBER_BYTES and member.file_size > MAX_RATIO * max(
            member.compress_size, 1
        ):
            raise ImportRefused(
                f"{filename} is refused: one of its parts unpacks to over {MAX_RATIO} times its packed "
                "size, which real model weights never do (a zip bomb?)."
            )


def _too_big(filename: str) -> str:
    return f"{filename} is refused: it is far larger than any digit classifier's model file once unpacked."


def _check_inflated(data: bytes, members: list[zipfile.ZipInfo], filename: str) -> None:
    """Refuse an archive by what its members really inflate to, whatever its directory declares.

    Keras trusts the declared sizes and inflates a member whole in one call, so a directory
    claiming 900 KB for 1.5 GB of zeros would cost the job 1.5 GB. Here each member's bytes are
    inflated slice by slice and counted, stopping as soon as the count passes what a real model's
    member may hold: the archive's budget left, and its ratio bound past a megabyte.
    """
    bomb = (
        f"{filename} is refused: one of its parts unpacks to over {MAX_RATIO} times its packed size, "
        "which real model weights never do (a zip bomb?)."
    )
    forged = (
        f"{filename} is refused: one of its parts does not unpack to the size the archive declares "
        "for it (a forged archive?)."
    )
    budget_left = MAX_ARCHIVE_BYTES
    for member in members:
        if member.flag_bits & 0x1:
            raise ImportRefused(f"{filename} is refused: it is encrypted, which a Keras model file never is.")
        packed = _packed_bytes(data, member)
        if member.compress_type == zipfile.ZIP_STORED:
            size, crc = len(packed), zlib.crc32(packed)
        elif member.compress_type == zipfile.ZIP_DEFLATED:
            ratio_bound = max(BIG_MEMBER_BYTES, MAX_RATIO * len(packed))
            size, crc = _inflated_size(packed, min(budget_left, ratio_bound))
            if size > ratio_bound:
                raise ImportRefused(bomb)
        else:
            raise ImportRefused(
                f"{filename} is refused: it is compressed in a way Keras never writes (method "
                f"{member.compress_type})."
            )
        if size > budget_left:
            raise ImportRefused(_too_big(filename))
        if size != member.file_size:
            raise ImportRefused(forged)
        if crc != member.CRC:
            raise zipfile.BadZipFile("checksum")  # Damaged: reported as such by the caller.
        budget_left -= size


def _packed_bytes(data: bytes, member: zipfile.ZipInfo) -> memoryview:
    """The member's stored bytes, found from its local header (a view: nothing is copied)."""
    start = member.header_offset
    signature, name_length, extra_length = LOCAL_HEADER.unpack_from(data, start)
    if signature != b"PK\x03\x04":
        raise zipfile.BadZipFile("bad local header")
    start += LOCAL_HEADER.size + name_length + extra_length
    if start + member.compress_size > len(data):
        raise zipfile.BadZipFile("truncated member")
    return memoryview(data)[start : start + member.compress_size]


def _inflated_size(packed: memoryview, budget: int) -> tuple[int, int]:
    """How many bytes a raw deflate stream inflates to, and their CRC-32; once past `budget`,
    budget + 1 (the rest is never inflated). At most INFLATE_SLICE bytes are held at a time."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    size, crc, offset, pending = 0, 0, 0, b""
    while not inflater.eof:
        if not pending:
            pending = bytes(packed[offset : offset + INFLATE_SLICE])
            offset += len(pending)
        piece = inflater.decompress(pending, INFLATE_SLICE)
        pending = inflater.unconsumed_tail
        if not piece and not pending and offset >= len(packed) and not inflater.eof:
            raise zipfile.BadZipFile("truncated deflate stream")
        size += len(piece)
        if size > budget:
            return budget + 1, crc
        crc = zlib.crc32(piece, crc)
    return size, crc


def _read_bounded(archive: zipfile.ZipFile, name: str, filename: str) -> bytes:
    """The member's bytes, reading at most MAX_CONFIG_BYTES + 1: a forged directory entry may
    declare a small size for a member that inflates without end."""
    with archive.open(name) as member:
        text = member.read(MAX_CONFIG_BYTES + 1)
    if len(text) > MAX_CONFIG_BYTES:
        raise ImportRefused(
            f"{filename} is refused: its model description is far larger than any digit classifier's."
        )
    return text


# A JSON string, or an unterminated one up to the end: it always matches, so the scan stays linear.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)')


def _nesting_depth(text: bytes) -> int:
    """How deep the JSON's brackets nest, counted without parsing (strings are skipped), so a
    hostile config cannot exhaust the recursive parser or Keras."""
    brackets = np.frombuffer(_JSON_STRING.sub(b"", text), dtype=np.uint8)
    steps = np.isin(brackets, (ord("["), ord("{"))).astype(np.int32) - np.isin(brackets, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))


# --- As a background job ------------------------------------------------------------------------


def upload_path(target: str) -> Path:
    folder = jobs.jobs_dir() / UPLOADS_FOLDER
    folder.mkdir(exist_ok=True)
    return folder / f"{target}.keras"


def _forget_stale_uploads() -> None:
    """Remove uploads whose job has ended or vanished: a job stopped for memory or killed for good
    never reaches its own cleanup. A fresh one is spared: its job may be being queued now."""
    for upload in (jobs.jobs_dir() / UPLOADS_FOLDER).glob("*.keras"):
        try:
            fresh = time.time() - upload.stat().st_mtime < jobs.CLAIM_GRACE_SECONDS
        except OSError:
            continue
        if fresh or not jobs.TARGET_PATTERN.match(upload.stem):
            continue
        job = jobs.read("import", upload.stem)
        if job is None or job["state"] not in jobs.PENDING_STATES:
            upload.unlink(missing_ok=True)


def request_import(
    data: bytes, filename: str, name: str | None = None, who: access.Who = access.OWNER
) -> str:
    """Run the static checks here (ImportRefused at once for a file that fails them, for a
    visitor the owner has not allowed to import, or when the disk is full), keep the upload and
    queue its import job; the job's target, to follow with `jobs.read("import", ...)`."""
    refused = limits.import_refusal(who)
    if refused:
        raise ImportRefused(refused)
    check_archive(data, filename)
    _forget_stale_uploads()
    target = secrets.token_hex(8)
    upload = upload_path(target)
    try:
        with atomic_files.atomic_path(upload, suffix=".keras", what="the uploaded model") as temp:
            temp.write_bytes(data)
        payload = {"filename": filename, "name": name, "run_meta": who.run_meta()}
        scheduler.request("import", target, payload=payload)
    except atomic_files.DiskFullError as error:
        upload.unlink(missing_ok=True)  # No job will ever read it.
        raise ImportRefused(f"{filename} could not be imported. {error}") from None
    return target


def summary(report: dict[str, Any]) -> str:
    """One line about a finished import, for the page (plain text: the names are the user's)."""
    accuracies = ", ".join(
        f"{scale}: {100 * value:.1f}%" for scale, value in report["scale_accuracy"].items()
    )
    return (
        f"{report['architecture']}, {report['parameters']:,} parameters. Input: {report['input']}, pixels as "
        f"{report['input_scale']} (sample accuracy {accuracies}). Test accuracy "
        f"{100 * report['test_accuracy']:.2f}% on the 10,000 test digits."
    )


def upload_of(run: RunRecord) -> str | None:
    info = run.meta.get("imported")
    return info.get("upload") if isinstance(info, dict) else None

"""Forged .keras archives for the hardening tests and bench/zip_bomb_rss.py, built in a stream.

Issue 19's forged zip: a model.weights.h5 of ~1.5 GB of zeros, deflated to ~1.5 MB, whose
uncompressed size in both the central directory and the local header is rewritten to 900,000
bytes. The zeros are never held: one megabyte is deflated once with a full flush (which leaves the
next block independent of it) and that block is repeated, so building 1.5 GB takes a second.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

MEGABYTE = 1 << 20
LOCAL = struct.Struct("<4sHHHHHIIIHH")
CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
END = struct.Struct("<4sHHHHIIH")
DOS_DATE = 0x21  # 1980-01-01


def zeros_deflated(megabytes: int) -> tuple[bytes, int]:
    """A raw deflate stream of `megabytes` MB of zeros and their CRC-32."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(bytes(MEGABYTE)) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    zero_megabyte = bytes(MEGABYTE)
    for _ in range(megabytes):
        crc = zlib.crc32(zero_megabyte, crc)
    return block * megabytes + b"\x03\x00", crc  # \x03\x00: an empty final block.


def zip_of(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of deflated members given as (name, raw deflate bytes, CRC-32, declared size)."""
    out = io.BytesIO()
    directory = []
    for name, packed, crc, declared in members:
        offset = out.tell()
        encoded = name.encode()
        sizes = (crc, len(packed), declared, len(encoded))  # Both headers hold the declared size.
        out.write(LOCAL.pack(b"PK\x03\x04", 20, 0, 8, 0, DOS_DATE, *sizes, 0) + encoded + packed)
        directory.append(
            CENTRAL.pack(b"PK\x01\x02", 20, 20, 0, 8, 0, DOS_DATE, *sizes, 0, 0, 0, 0, 0, offset) + encoded
        )
    start = out.tell()
    out.write(b"".join(directory))
    out.write(END.pack(b"PK\x05\x06", 0, 0, len(directory), len(directory), out.tell() - start, start, 0))
    return out.getvalue()


def deflated(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def forged_keras(model: bytes, weights_megabytes: int = 1500, declared: int = 900_000) -> bytes:
    """`model` (a real .keras file's bytes) with its weights replaced by `weights_megabytes` MB of
    zeros that the archive says are `declared` bytes."""
    members = []
    with zipfile.ZipFile(io.BytesIO(model)) as archive:
        for name in archive.namelist():
            if name != "model.weights.h5":
                content = archive.read(name)
                members.append((name, deflated(content), zlib.crc32(content), len(content)))
    packed, crc = zeros_deflated(weights_megabytes)
    members.append(("model.weights.h5", packed, crc, declared))
    return zip_of(members)

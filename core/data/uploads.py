"""Decoding an uploaded picture within a memory budget: refused from its header when too large,
JPEGs decoded at a reduced scale, everything reduced in C before any copy.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from core.data.preprocess import WORK_SIZE

UPLOAD_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")


# What one upload may occupy while it is decoded and reduced (`_bytes_per_pixel`): a 7000x7000
# RGBA PNG of 190 KB would take 392 MB, so it is refused from its header; the largest RGBA image
# accepted is 2828x2828, an RGB one 4000x4000. JPEGs are decoded at a reduced scale
# (`Image.draft`) first, so phone photos of any size pass.
MAX_DECODE_BYTES = 64_000_000


# Decoded images are reduced by an integer factor (in C) to no less than this side before
# anything converts or copies them, so later copies stay small.
DECODED_SIDE = WORK_SIZE


class ImageError(ValueError):
    """An upload we cannot use; the message is meant for the end user."""


def decode_upload(data: bytes, max_bytes: int, max_pixels: int) -> Image.Image:
    """Decode an uploaded file fully, so every failure surfaces here as an ImageError.

    Memory is bounded before any pixel is decoded: the header's size decides (at most
    `max_pixels`, and MAX_DECODE_BYTES once decoded), a JPEG is decoded at the smallest DCT
    scale that keeps DECODED_SIDE, and a large result is reduced at once.
    """
    if not data:
        raise ImageError("The file is empty. Please choose an image file.")
    if len(data) > max_bytes:
        raise ImageError(
            f"The file is too large ({_describe_bytes(len(data))}). "
            f"Please use an image under {_describe_bytes(max_bytes)}."
        )
    too_big = "This image has too many pixels ({}). Please use a smaller image (at most {:,} pixels)."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=UPLOAD_FORMATS)
            width, height = image.size
            # Checked on the header, before any pixel is decoded.
            if width * height > max_pixels:
                raise ImageError(too_big.format(f"{width:,} x {height:,}", max_pixels))
            if image.format == "JPEG":
                image.draft(image.mode, (DECODED_SIDE, DECODED_SIDE))
            if _decoded_bytes(image) > MAX_DECODE_BYTES:
                raise ImageError(
                    too_big.format(f"{width:,} x {height:,}", MAX_DECODE_BYTES // _bytes_per_pixel(image))
                )
            image.load()  # Decodes the first frame fully, so truncation is caught here.
            image = _reduced(image)
            # Phone photos store their rotation in EXIF; the digit must be upright.
            image = ImageOps.exif_transpose(image)
    except UnidentifiedImageError:
        raise ImageError("This file is not an image we can read (PNG, JPEG, BMP, GIF or WebP).") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(too_big.format("far too many", max_pixels)) from None
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError):
        raise ImageError(
            "This image file is damaged or incomplete, so it cannot be opened. Please try another file."
        ) from None
    return image


def _bytes_per_pixel(image: Image.Image) -> int:
    """Bytes a pixel takes at the peak of decoding and reducing it: Pillow stores every
    multi-band mode in 4 bytes, reducing an image with alpha makes a premultiplied copy, and
    modes `reduce` lacks are converted first (a palette with transparency to RGBA)."""
    alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    decoded = 1 if image.mode in ("1", "L", "P") else 2 if image.mode.startswith("I;16") else 4
    converted = {"1": 1, "P": 4 if alpha else 1}.get(image.mode, 4 if image.mode.startswith("I;16") else 0)
    return decoded + converted + (4 if alpha else 0)


def _decoded_bytes(image: Image.Image) -> int:
    width, height = image.size
    return width * height * _bytes_per_pixel(image)


def _reduced(image: Image.Image) -> Image.Image:
    """A decoded image larger than DECODED_SIDE reduced by an integer factor (box averaging, in
    C), so no later step copies it at full size; modes `reduce` lacks are converted first."""
    factor = max(image.size) // DECODED_SIDE
    if factor < 2:
        return image
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "L")
    elif image.mode == "1":
        image = image.convert("L")
    elif image.mode.startswith("I;16"):
        image = image.convert("I")
    return image.reduce(factor)


def _describe_bytes(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f} MB"
    return f"{max(1, round(count / 1000))} KB"

"""Decoding bytes nobody vouches for — a member's file, an image server's or a cloud service's result —
in one place: PNG, JPEG, WebP or GIF only, by their content (Pillow's other decoders never run on
them), at most MAX_PIXELS (Pillow's decompression-bomb guard as an error, not a warning)."""

from __future__ import annotations

import io
import warnings

from PIL import Image

FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
MAX_PIXELS = 40_000_000  # above this nothing is decoded (a decompression bomb)


class NotAPicture(ValueError):
    """The bytes are not a picture we accept; `str()` says why (for logs and operators)."""


class TooManyPixels(NotAPicture):
    pass


def opened(data: bytes) -> Image.Image:
    """The picture in `data`, opened (not yet decoded) and checked; raises NotAPicture."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooManyPixels("more pixels than a picture may have") from None
    except (Image.UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise NotAPicture("not a PNG, JPEG, WebP or GIF picture") from None
    if image.width * image.height > MAX_PIXELS:
        raise TooManyPixels(f"{image.width}×{image.height} pixels, more than a picture may have")
    return image


def decoded_rgb(data: bytes) -> Image.Image:
    """The first frame of the picture in `data` as RGB pixels; raises NotAPicture."""
    image = opened(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.seek(0)
            return image.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning):
        raise NotAPicture("a picture whose data is broken") from None

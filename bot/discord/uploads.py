"""Fitting images into a platform's upload limits: re-encode what is too big, split over messages."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from PIL import Image

from shared.delivery.results import DeliveredImage

# Tried in order until an image fits: WebP keeps quality best, JPEG is the last resort.
ENCODINGS = (("WEBP", 90), ("WEBP", 75), ("JPEG", 85), ("JPEG", 70), ("JPEG", 50))
EXTENSIONS = {"WEBP": ("webp", "image/webp"), "JPEG": ("jpg", "image/jpeg")}
PAYLOAD_MARGIN = 64 * 1024  # room for the message's JSON part inside the limit


@dataclass(frozen=True)
class Upload:
    number: int  # 1-based, as the user counts images
    data: bytes
    filename: str
    content_type: str


@dataclass
class Packing:
    messages: list[list[Upload]] = field(default_factory=list)
    recompressed: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)


def pack(images: list[DeliveredImage], *, limit_bytes: int, max_files: int) -> Packing:
    """Messages of at most `max_files` files and `limit_bytes` bytes each, in the images' order."""
    budget = max(1024, limit_bytes - PAYLOAD_MARGIN)
    packing = Packing()
    batch: list[Upload] = []
    for number, image in enumerate(images, 1):
        # Discord shows a file whose name starts SPOILER_ blurred until clicked.
        name = f"SPOILER_{image.filename}" if image.spoiler else image.filename
        upload = Upload(number, image.data, name, image.content_type)
        if len(upload.data) > budget:
            smaller = _recompress(upload, budget)
            if smaller is None:
                packing.dropped.append(number)
                continue
            upload = smaller
            packing.recompressed.append(number)
        if batch and (len(batch) >= max_files or sum(len(u.data) for u in batch) + len(upload.data) > budget):
            packing.messages.append(batch)
            batch = []
        batch.append(upload)
    if batch:
        packing.messages.append(batch)
    return packing


def _recompress(upload: Upload, budget: int) -> Upload | None:
    picture = Image.open(io.BytesIO(upload.data)).convert("RGB")
    stem = upload.filename.rsplit(".", 1)[0]
    for fmt, quality in ENCODINGS:
        buffer = io.BytesIO()
        picture.save(buffer, format=fmt, quality=quality)
        if buffer.tell() <= budget:
            extension, content_type = EXTENSIONS[fmt]
            return Upload(upload.number, buffer.getvalue(), f"{stem}.{extension}", content_type)
    return None

"""Image encoding with reproducible parameters in the file (the stores are in shared/image_store.py)."""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image, PngImagePlugin

METADATA_KEY = "imagine"  # PNG text chunk with our parameters as JSON
PARAMETERS_KEY = "parameters"  # the A1111-style line many tools already read


def encode_png(image: Image.Image, metadata: dict[str, Any]) -> bytes:
    """PNG bytes carrying `metadata` (prompt, negative, seed, model, size, job id) as text chunks."""
    info = PngImagePlugin.PngInfo()
    info.add_text(METADATA_KEY, json.dumps(metadata, ensure_ascii=False, sort_keys=True))
    info.add_text(PARAMETERS_KEY, _parameters_line(metadata))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, optimize=False, compress_level=1)
    return buffer.getvalue()


def thumbnail(data: bytes, edge: int = 256) -> bytes:
    """A small JPEG of an image, for lists of many (a gallery page)."""
    with Image.open(io.BytesIO(data)) as image:
        small = image.convert("RGB")
        small.thumbnail((edge, edge))
        buffer = io.BytesIO()
        small.save(buffer, format="JPEG", quality=85)
        return buffer.getvalue()


def read_metadata(data: bytes) -> dict[str, Any]:
    """The parameters `encode_png` stored, or {} for an image without them."""
    with Image.open(io.BytesIO(data)) as image:
        raw = getattr(image, "text", {}).get(METADATA_KEY)
    return json.loads(raw) if raw else {}


def _parameters_line(meta: dict[str, Any]) -> str:
    lines = [str(meta.get("prompt", ""))]
    if meta.get("negative"):
        lines.append(f"Negative prompt: {meta['negative']}")
    fields = [("Seed", "seed"), ("Size", "size"), ("Model", "model"), ("Job", "job_id")]
    lines.append(", ".join(f"{label}: {meta[key]}" for label, key in fields if meta.get(key) is not None))
    return "\n".join(lines)

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
    """AUTOMATIC1111's `parameters` text, which A1111's PNG Info and ComfyUI's readers understand: the
    prompt (with `<lora:NAME:WEIGHT>` for each LoRA), the negative prompt, then the settings."""
    loras = meta.get("loras") or []
    tags = "".join(f" <lora:{lora['name']}:{lora['weight']:g}>" for lora in loras)
    lines = [str(meta.get("prompt", "")) + tags]
    if meta.get("negative"):
        lines.append(f"Negative prompt: {meta['negative']}")
    fields = [
        ("Steps", "steps"),
        ("Sampler", "sampler"),
        ("CFG scale", "guidance"),
        ("True CFG scale", "true_cfg"),  # Flux with a negative prompt: real guidance beside its own
        ("Seed", "seed"),
        ("Size", "size"),
        ("Model hash", "model_hash"),
        ("Model", "model"),
        ("Clip skip", "clip_skip"),
    ]
    settings = [f"{label}: {meta[key]}" for label, key in fields if meta.get(key) is not None]
    hashes = {lora["name"]: lora["hash"] for lora in loras if lora.get("hash")}
    if hashes:
        settings.append('Lora hashes: "' + ", ".join(f"{name}: {h}" for name, h in hashes.items()) + '"')
    if meta.get("job_id") is not None:
        settings.append(f"Job: {meta['job_id']}")
    return "\n".join([*lines, ", ".join(settings)])

"""Image encoding with reproducible parameters in the file, and the store every worker can reach."""

from __future__ import annotations

import io
import json
from typing import Any, Protocol

from PIL import Image, PngImagePlugin
from redis import Redis
from redis.client import Pipeline

from shared.config import StorageConfig

METADATA_KEY = "imagine"  # PNG text chunk with our parameters as JSON
PARAMETERS_KEY = "parameters"  # the A1111-style line many tools already read


class ImageTooLarge(Exception):
    """An encoded image is over the store's size cap."""


def encode_png(image: Image.Image, metadata: dict[str, Any]) -> bytes:
    """PNG bytes carrying `metadata` (prompt, negative, seed, model, size, job id) as text chunks."""
    info = PngImagePlugin.PngInfo()
    info.add_text(METADATA_KEY, json.dumps(metadata, ensure_ascii=False, sort_keys=True))
    info.add_text(PARAMETERS_KEY, _parameters_line(metadata))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, optimize=False, compress_level=1)
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


class ImageStore(Protocol):
    """Where finished images live until delivered and while a thread may refine them."""

    def put_many(self, images: dict[str, bytes], pipe: Pipeline | None = None) -> None: ...

    def get(self, key: str) -> bytes | None: ...


class RedisImageStore:
    """The default store: images in Redis with a TTL and a size cap, reachable from every host."""

    def __init__(self, redis: Redis, *, ttl_seconds: int, max_bytes: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._max_bytes = max_bytes

    @classmethod
    def from_config(cls, redis: Redis, storage: StorageConfig) -> RedisImageStore:
        """The store as `[storage]` sets it up: workers write to it, frontends and the CLI read it."""
        return cls(redis, ttl_seconds=storage.image_ttl_seconds, max_bytes=storage.max_image_bytes)

    def put_many(self, images: dict[str, bytes], pipe: Pipeline | None = None) -> None:
        """Store all or none (the size cap is checked first); with `pipe`, as part of it."""
        for data in images.values():
            if len(data) > self._max_bytes:
                raise ImageTooLarge(f"{len(data):,} bytes is over the store's cap of {self._max_bytes:,}")
        target = pipe if pipe is not None else self._redis.pipeline(transaction=False)
        for key, data in images.items():
            target.set(key, data, ex=self._ttl)
        if pipe is None:
            target.execute()

    def get(self, key: str) -> bytes | None:
        return self._redis.get(key)

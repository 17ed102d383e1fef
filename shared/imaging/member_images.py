"""A member's own picture, fetched safely: only from the platform's own file hosts (never a URL a
member typed: no server-side request forgery), no redirects followed, a size cap before and during
the download, the type read from the bytes, Pillow's decompression-bomb guard, EXIF orientation
applied, metadata dropped, and the result resized to what the backend takes. Every bad case is one
clear message (InvalidRequest), so the job fails refunded, never with a traceback."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpx2
from PIL import Image, ImageOps

from shared import keys, messages
from shared.configuration.settings import Settings
from shared.drawing.sources import SourceImage
from shared.errors import InvalidRequest
from shared.imaging import pictures
from shared.imaging.image_store import ImageStore

MAX_EDGE = 1536
TIMEOUT = httpx2.Timeout(10.0, read=30.0)


def fetch_from(
    settings: Settings, hosts: Iterable[str], url: str, headers: dict[str, str] | None = None
) -> bytes:
    """A member's file from its platform's own `hosts`, within [limits] source_image_bytes."""
    cap = settings.config.limits.source_image_bytes
    return fetch(url, hosts=set(hosts), max_bytes=cap, headers=headers)


def with_api_host(hosts: Iterable[str], api_url: str, default_api_url: str) -> set[str]:
    """A platform's file hosts, and its API's host where the operator points the API elsewhere (a
    test server, a proxy), since files are then served from there too."""
    return {*hosts, *([urlsplit(api_url).netloc] if api_url != default_api_url else [])}


def fetch(url: str, *, hosts: set[str], max_bytes: int, headers: dict[str, str] | None = None) -> bytes:
    """The bytes at `url`, from one of `hosts` only, at most `max_bytes`; raises InvalidRequest."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or parts.netloc not in hosts:
        raise InvalidRequest(messages.image_not_from_platform())
    try:
        with httpx2.Client(timeout=TIMEOUT, follow_redirects=False) as client:
            with client.stream("GET", url, headers=headers or {}) as response:
                if response.is_redirect:
                    raise InvalidRequest(messages.image_not_from_platform())
                if response.status_code != 200:
                    raise InvalidRequest(messages.image_unavailable())
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise InvalidRequest(messages.image_too_big(max_bytes))
                received = bytearray()
                for chunk in response.iter_bytes():
                    received += chunk
                    if len(received) > max_bytes:  # a lying or absent Content-Length
                        raise InvalidRequest(messages.image_too_big(max_bytes))
                return bytes(received)
    except httpx2.HTTPError:
        raise InvalidRequest(messages.image_unavailable()) from None


def prepare(data: bytes, *, max_edge: int = MAX_EDGE) -> Image.Image:
    """A clean RGB image from a member's file: type from the bytes, a bomb refused, EXIF orientation
    applied, the first frame of an animation, no metadata, at most `max_edge` on its long side."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with pictures.opened(data) as image:
                image.seek(0)  # an animation's first frame
                upright = (ImageOps.exif_transpose(image) or image).convert("RGB")
    except pictures.TooManyPixels:
        raise InvalidRequest(messages.image_too_many_pixels()) from None
    except (pictures.NotAPicture, Image.DecompressionBombWarning, OSError, SyntaxError, ValueError):
        raise InvalidRequest(messages.image_wrong_type()) from None
    clean = Image.new("RGB", upright.size)  # pixels only: no EXIF, no text chunks, no ICC profile
    clean.paste(upright)
    clean.thumbnail((max_edge, max_edge))
    return clean


def checked(data: bytes, max_bytes: int) -> Image.Image:
    """A picture a frontend already holds (a file on disk, a download it made), checked like a fetch."""
    if len(data) > max_bytes:
        raise InvalidRequest(messages.image_too_big(max_bytes))
    return prepare(data)


def picture_sources(event_id: str, count: int) -> tuple[SourceImage, ...]:
    """Where a frontend keeps an event's pictures for the worker, known before they are stored."""
    return tuple(SourceImage(key=keys.member_picture(event_id, n)) for n in range(count))


def keep(
    store: ImageStore, pictures: list[Image.Image], sources: tuple[SourceImage, ...], *, workspace: str
) -> None:
    """Put checked pictures in the image store at `sources` for the worker, which cannot fetch them."""
    store.put_many(
        {source.key or "": _png(picture) for source, picture in zip(sources, pictures, strict=True)},
        workspace=workspace,
    )


def composite(pictures: list[Image.Image], size: tuple[int, int]) -> Image.Image:
    """Several pictures as one starting image for a backend that takes one: each cropped to the size
    and averaged with equal weight, so image-to-image keeps their colours and shapes together."""
    fitted = [ImageOps.fit(picture.convert("RGB"), size, Image.Resampling.LANCZOS) for picture in pictures]
    mixed = fitted[0]
    for n, picture in enumerate(fitted[1:], start=2):
        mixed = Image.blend(mixed, picture, 1 / n)  # a running mean: each picture weighs 1/len
    return mixed


def _png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()

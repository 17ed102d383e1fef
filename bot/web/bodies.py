"""Reading a request's body on the web page, in one place each: a JSON object of real text (no lone
surrogates or NaN), and a multipart action's fields and pictures, read as they stream in under the
size cap. A body that cannot be read is a 400 naming why; a picture refused is told to the member."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from aiohttp import BodyPartReader, web

from shared import messages
from shared.drawing.request import MAX_SOURCES

log = logging.getLogger(__name__)
MAX_TEXT = 4000
FORM_FIELDS = {"text", "thread", "picture"}
UPLOAD_CHUNK = 64 * 1024
_SURROGATE = re.compile("[\ud800-\udfff]")


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object of real text (no lone surrogates, which no store can encode)."""
    try:
        body = json.loads(await request.read(), parse_constant=_no_constant)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python recurses
        raise web.HTTPBadRequest(reason="the body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason="the body is not a JSON object")
    if not _is_text(body):
        raise web.HTTPBadRequest(reason="the body has text that is not valid Unicode")
    return body


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _is_text(value: object, depth: int = 0) -> bool:
    """Whether every string in `value`, keys included, encodes as UTF-8 (and it is not absurdly deep)."""
    if depth > 32:
        return False
    if isinstance(value, str):
        return not _SURROGATE.search(value)
    if isinstance(value, dict):
        return all(_is_text(k, depth) and _is_text(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_text(item, depth + 1) for item in value)
    return True


class Told(Exception):
    """An upload stopped for a reason the member is told, as any other private answer."""


async def read_upload(
    request: web.Request, cap: int, *, fields: frozenset[str] = frozenset()
) -> tuple[dict[str, str], list[bytes]]:
    """The text fields and pictures of a multipart action, read as they stream in: a picture over
    the size cap, or one too many, stops the reading with the member's message (Told). `fields`:
    text fields this action has besides text and thread."""
    if request.content_type != "multipart/form-data":
        raise web.HTTPBadRequest(reason="pictures come as multipart/form-data")
    try:
        return await _read_parts(request, cap, FORM_FIELDS | fields)
    except ValueError as exc:  # aiohttp's multipart reader: a boundary missing, a body cut off
        log.warning("web: a multipart body that cannot be read: %s", exc)
        raise web.HTTPBadRequest(reason="the form's body is broken (multipart/form-data)") from None


async def _read_parts(request: web.Request, cap: int, names: set[str]) -> tuple[dict[str, str], list[bytes]]:
    fields: dict[str, str] = {}
    pictures: list[bytes] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name not in names:
            raise web.HTTPBadRequest(reason=f"the fields are {', '.join(sorted(names))}")
        limit = cap if part.name == "picture" else MAX_TEXT * 4
        data = bytearray()
        while chunk := await part.read_chunk(UPLOAD_CHUNK):
            data += chunk
            if len(data) > limit:
                if part.name == "picture":
                    raise Told(messages.image_too_big(cap))
                raise web.HTTPBadRequest(reason=f"{part.name} is too long")
        if part.name == "picture":
            if len(pictures) == MAX_SOURCES:
                raise Told(messages.too_many_pictures(len(pictures) + 1, MAX_SOURCES))
            pictures.append(bytes(data))
        else:
            fields[str(part.name)] = data.decode("utf-8", errors="replace")
    return fields, pictures

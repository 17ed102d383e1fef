"""The page's HTTP side (aiohttp): the page itself, its actions, its live feed (server-sent events) and
the images.

It serves this machine only, one member ("local"), so there is no login; what it guards against is
other sites in the same browser: actions are JSON POSTs with a header of our own (a cross-site form
or fetch cannot send one without a preflight this server never grants), an `Origin` that is not this
server's is refused, and a `Host` that is not this server's (DNS rebinding) too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from importlib import resources
from typing import Any

from aiohttp import web

from bot.web.frontend import Answer, WebFrontend
from shared.chat_text import JOB_ID_PATTERN

log = logging.getLogger(__name__)
USER = "local"  # the one member of a page served to this machine
ACTION_HEADER = "X-Imagine"
MAX_TEXT = 4000
STATIC = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}
IMAGE_KEY = re.compile(rf"imagine:image:{JOB_ID_PATTERN}:[0-9]{{1,2}}")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class WebServer:
    def __init__(self, frontend: WebFrontend, *, host: str, port: int) -> None:
        self._frontend = frontend
        self._hosts = {f"{name}:{port}" for name in (host, "localhost", "127.0.0.1", "[::1]")}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024, middlewares=[self._guard])
        app.router.add_get("/", self.page)
        app.router.add_get("/static/{name}", self.static)
        app.router.add_get("/api/events", self.events)
        app.router.add_post("/api/say", self.say)
        app.router.add_post("/api/press", self.press)
        app.router.add_get("/images/{key}", self.image)
        app.router.add_get("/healthz", self.healthz)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler) -> web.StreamResponse:
        if request.host not in self._hosts:
            return web.json_response({"error": f"unknown host {request.host[:80]!r}"}, status=421)
        origin = request.headers.get("Origin")
        if origin is not None and origin.split("://", 1)[-1] not in self._hosts:
            return web.json_response({"error": "cross-site request"}, status=403)
        if request.method == "POST" and request.headers.get(ACTION_HEADER) != "1":
            return web.json_response({"error": f"actions need the {ACTION_HEADER} header"}, status=403)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            return web.json_response({"error": exc.reason}, status=exc.status)
        response.headers.update(SECURITY_HEADERS)
        return response

    async def page(self, request: web.Request) -> web.Response:
        return await self._file("index.html")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC or name == "index.html":
            raise web.HTTPNotFound(reason="no such file")
        return await self._file(name)

    async def _file(self, name: str) -> web.Response:
        body = resources.files("bot.web").joinpath("static", name).read_bytes()
        return web.Response(body=body, content_type=STATIC[name], headers={"Cache-Control": "no-cache"})

    async def say(self, request: web.Request) -> web.Response:
        body = await _json(request)
        text, thread = body.get("text"), body.get("thread")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            return _answer(Answer(private=[f"Type a prompt (at most {MAX_TEXT} characters)."]))
        if thread is not None and not isinstance(thread, str):
            raise web.HTTPBadRequest(reason="thread must be a string")
        return _answer(await self._frontend.say(USER, text, thread))

    async def press(self, request: web.Request) -> web.Response:
        body = await _json(request)
        custom_id, thread = body.get("id"), body.get("thread")
        if not isinstance(custom_id, str) or not isinstance(thread, str):
            raise web.HTTPBadRequest(reason="a press names its button id and thread")
        return _answer(await self._frontend.press(USER, custom_id, thread))

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: the member's whole feed, then each new message as it comes."""
        after = request.headers.get("Last-Event-ID") or "0"
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", **SECURITY_HEADERS}
        )
        await response.prepare(request)
        try:
            async for event_id, message in self._frontend.feed.follow(USER, after):
                if not event_id:
                    await response.write(b": still here\n\n")  # keeps proxies and the page's socket open
                    continue
                data = json.dumps(message, ensure_ascii=False)
                await response.write(f"id: {event_id}\ndata: {data}\n\n".encode())
        except ConnectionResetError:
            pass  # the page went away
        return response

    async def image(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if not IMAGE_KEY.fullmatch(key):
            raise web.HTTPNotFound(reason="no such image")
        data = await asyncio.to_thread(self._frontend.core.images.get, key)
        if data is None:
            raise web.HTTPNotFound(reason="this image has expired")
        # An image never changes under its key: the browser may keep it as long as it likes.
        forever = {"Cache-Control": "private, max-age=604800, immutable"}
        return web.Response(body=data, content_type="image/png", headers=forever)

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            await asyncio.to_thread(self._frontend.core.redis.ping)
        except Exception as exc:  # any failure means unhealthy; say which part
            return web.json_response({"ok": False, "redis": type(exc).__name__}, status=503)
        return web.json_response({"ok": True})


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(reason="the body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason="the body is not a JSON object")
    return body


def _answer(answer: Answer) -> web.Response:
    return web.json_response({"taken": answer.taken, "private": answer.private})

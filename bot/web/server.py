"""The page's HTTP side (aiohttp): the page itself, its login, its actions, its live feed (server-sent
events) and the images.

Every member has a session: a signed cookie (`bot.web.sessions`). Served to this machine with no login
configured, the page gives one to whoever asks, as the member "local"; otherwise it comes from a login.
Against other sites in the same browser: actions are POSTs (JSON, or multipart with pictures) carrying
the session's CSRF token and a header of our own (neither can a cross-site form send), an `Origin`
other than the page's is refused, and without a login a `Host` that is not this machine's (DNS
rebinding) too. An image's URL works only for the member whose feed holds it: the feed adds a token
bound to that member (its key alone is made from ids others may know, e.g. Discord's message ids).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from bot.web.access import LOCAL, Access
from bot.web.bodies import MAX_TEXT, Told, read_json, read_upload
from bot.web.editing import LINK_ROUTES, EditorRoutes
from bot.web.editing import answer as _answer
from bot.web.feed import Superseded
from bot.web.frontend import Answer, WebFrontend
from bot.web.sessions import COOKIE, CSRF_HEADER, Sessions
from bot.web.throttle import LoginThrottle
from shared import messages
from shared.drawing.chat_text import JOB_ID_PATTERN

log = logging.getLogger(__name__)
ACTION_HEADER = "X-Imagine"
MAX_NAME, MAX_PASSWORD = 64, 1024
HSTS = "max-age=31536000"
PASSWORD_CHECKS = 2  # scrypt takes a core each: at most this many at once
THROTTLED = {
    "address": "Too many failed logins from this address: try again in {minutes} min.",
    "account": "Too many logins to this account: try again in {minutes} min.",
    "everyone": "Too many logins at once on this page: try again in {minutes} min.",
}
STATIC = {
    "index.html": "text/html",
    "edit.html": "text/html",
    "app.js": "text/javascript",
    "editor.js": "text/javascript",
    "edit.js": "text/javascript",
    "style.css": "text/css",
}
PAGES = {"index.html", "edit.html"}  # served at their routes, not as static files
# The rest need a session; an editor link is its own proof (bot/web/editing.py)
PUBLIC_ROUTES = {"page", "static", "healthz", "session", "login", *LINK_ROUTES}
IMAGE_KEY = re.compile(rf"imagine:image:{JOB_ID_PATTERN}:[0-9]{{1,2}}")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class WebServer:
    def __init__(
        self,
        frontend: WebFrontend,
        access: Access,
        sessions: Sessions,
        throttle: LoginThrottle,
        *,
        host: str,
        port: int,
    ) -> None:
        self._frontend = frontend
        self._access = access
        self._sessions = sessions
        self._throttle = throttle
        # scrypt on a pool of its own: a flood of logins never holds the threads that answer requests
        self._password_checks = ThreadPoolExecutor(PASSWORD_CHECKS, thread_name_prefix="password-check")
        self._hosts = {f"{name}:{port}" for name in (host, "localhost", "127.0.0.1", "[::1]")}
        self._trusted = set(frontend.core.settings.config.web.trusted_proxies)
        self._picture_cap = frontend.core.settings.config.limits.source_image_bytes

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024, middlewares=[self._guard])
        app.router.add_get("/", self.page, name="page")
        app.router.add_get("/static/{name}", self.static, name="static")
        app.router.add_get("/healthz", self.healthz, name="healthz")
        app.router.add_get("/api/session", self.session, name="session")
        app.router.add_post("/api/login", self.login, name="login")
        app.router.add_post("/api/logout", self.logout, name="logout")
        app.router.add_get("/api/events", self.events, name="events")
        app.router.add_post("/api/say", self.say, name="say")
        app.router.add_post("/api/press", self.press, name="press")
        app.router.add_post("/api/describe", self.describe, name="describe")
        app.router.add_post("/api/settings", self.save_settings, name="settings")
        app.router.add_get("/images/{key}", self.image, name="image")
        EditorRoutes(self._frontend, picture_cap=self._picture_cap).add_to(app)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler) -> web.StreamResponse:
        request = self._behind_proxy(request)
        try:
            refusal = self._refusal(request)
            if (
                refusal is None
                and "user" in request
                and await self._sessions.revoked(request.cookies[COOKIE])
            ):
                refusal = _error(401, "Log in first.")  # logged out: this copy of the cookie is void too
            if refusal is not None:
                return refusal
            response = await handler(request)
        except web.HTTPException as exc:
            response = web.json_response({"error": exc.reason}, status=exc.status)
        except RedisError as exc:  # no Redis for a while (a failover, a restart): said, never a 500
            log.warning("web: Redis unavailable for %s (%s)", request.path, type(exc).__name__)
            response = _error(503, messages.bot_restarting())
        response.headers.update(SECURITY_HEADERS)
        if request.secure:  # served over HTTPS: browsers keep to it
            response.headers["Strict-Transport-Security"] = HSTS
        return response

    def _behind_proxy(self, request: web.Request) -> web.Request:
        """The request as the client made it, when it came through a trusted TLS proxy: its scheme
        (the cookie's Secure flag, HSTS) and the client's address (the login throttle)."""
        if not self._trusted or request.remote is None or _address(request.remote) not in self._trusted:
            return request
        scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip().lower()
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
        return request.clone(
            scheme=scheme if scheme in ("http", "https") else request.scheme,
            remote=hops[-1] if hops else request.remote,
        )

    def _refusal(self, request: web.Request) -> web.Response | None:
        """Why this request is refused before it is handled, or None; a request that passes and needs a
        session carries its member in `request["user"]`."""
        if not self._access.required and request.host not in self._hosts:
            return _error(421, f"unknown host {request.host[:80]!r}")
        origin = request.headers.get("Origin")
        if origin is not None and origin.split("://", 1)[-1] != request.host:
            return _error(403, "cross-site request")
        if request.method == "POST" and request.headers.get(ACTION_HEADER) != "1":
            return _error(403, f"actions need the {ACTION_HEADER} header")
        route = request.match_info.route.name
        if route is None or route in PUBLIC_ROUTES:
            return None  # a public route, or no route at all (its handler answers 404)
        cookie = request.cookies.get(COOKIE, "")
        user = self._sessions.user(cookie)
        if user is None:
            return _error(401, "Log in first.")
        if request.method == "POST" and not self._sessions.csrf_ok(cookie, request.headers.get(CSRF_HEADER)):
            return _error(403, "This page is out of date: reload it.")
        request["user"] = user
        return None

    async def session(self, request: web.Request) -> web.Response:
        """Who this page's member is, and the token their actions carry; with no login configured, a
        session as "local" for whoever asks."""
        cookie = request.cookies.get(COOKIE, "")
        user = self._sessions.user(cookie)
        if user is not None and await self._sessions.revoked(cookie):
            user = None
        fresh = user is None and not self._access.required
        if fresh:
            user, cookie = LOCAL, self._sessions.issue(LOCAL)
        login = {"required": self._access.required, "named": self._access.named}
        response = web.json_response(
            {"user": user, "csrf": self._sessions.csrf_token(cookie) if user else None, "login": login}
        )
        if fresh:
            self._set_cookie(request, response, cookie)
        return response

    async def login(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        name, password = body.get("name", ""), body.get("password")
        if not isinstance(name, str) or not isinstance(password, str):
            raise web.HTTPBadRequest(reason="a login is a name and a password")
        if len(name) > MAX_NAME or len(password) > MAX_PASSWORD:
            return _error(401, self._wrong_login())
        address, account = request.remote or "unknown", name.strip().lower()
        refusal = await self._throttle.attempt(address, account)  # counted before the check
        if refusal is not None:
            minutes = -(-refusal.wait_seconds // 60)
            response = _error(429, THROTTLED[refusal.rule].format(minutes=minutes))
            response.headers["Retry-After"] = str(refusal.wait_seconds)
            return response
        loop = asyncio.get_running_loop()
        user = await loop.run_in_executor(self._password_checks, self._access.check, name, password)
        if user is None:
            log.info("web: a failed login from %s", address)
            return _error(401, self._wrong_login())
        await self._throttle.succeeded(address, account)
        cookie = self._sessions.issue(user)
        response = web.json_response({"user": user, "csrf": self._sessions.csrf_token(cookie)})
        self._set_cookie(request, response, cookie)
        return response

    def _wrong_login(self) -> str:
        return "Wrong name or password." if self._access.named else "Wrong password."

    async def logout(self, request: web.Request) -> web.Response:
        cookie = request.cookies.get(COOKIE)
        if cookie:
            await self._sessions.revoke(cookie)  # a copy of the cookie stops working too
        response = web.json_response({"user": None})
        response.del_cookie(COOKIE, path="/")
        return response

    def _set_cookie(self, request: web.Request, response: web.Response, cookie: str) -> None:
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=self._sessions.max_age_seconds,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=request.secure,
        )

    async def page(self, request: web.Request) -> web.Response:
        return await self._file("index.html")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC or name in PAGES:
            raise web.HTTPNotFound(reason="no such file")
        return await self._file(name)

    async def _file(self, name: str) -> web.Response:
        body = resources.files("bot.web").joinpath("static", name).read_bytes()
        return web.Response(body=body, content_type=STATIC[name], headers={"Cache-Control": "no-cache"})

    async def say(self, request: web.Request) -> web.Response:
        """Words as JSON; words with pictures as multipart/form-data (`text`, `thread`, `picture`s)."""
        pictures: list[bytes] = []
        if request.content_type == "multipart/form-data":
            try:
                body, pictures = await read_upload(request, self._picture_cap)
            except Told as told:
                return _answer(Answer(private=[str(told)]))
        else:
            body = await read_json(request)
        text, thread = body.get("text", "" if pictures else None), body.get("thread") or None
        if not isinstance(text, str) or (not text.strip() and not pictures) or len(text) > MAX_TEXT:
            return _answer(Answer(private=[f"Type a prompt (at most {MAX_TEXT} characters)."]))
        if thread is not None and not isinstance(thread, str):
            raise web.HTTPBadRequest(reason="thread must be a string")
        return _answer(await self._frontend.say(request["user"], text, thread, pictures))

    async def describe(self, request: web.Request) -> web.Response:
        """One uploaded `picture` (multipart/form-data): four prompts for it, with their buttons."""
        try:
            _, pictures = await read_upload(request, self._picture_cap)
        except Told as told:
            return _answer(Answer(private=[str(told)]))
        if len(pictures) != 1:
            return _answer(Answer(private=[messages.describe_needs_picture()]))
        return _answer(await self._frontend.describe(request["user"], pictures[0]))

    async def press(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        custom_id, thread = body.get("id"), body.get("thread")
        if not isinstance(custom_id, str) or not isinstance(thread, str | None):
            raise web.HTTPBadRequest(reason="a press names its button id (and its thread)")
        return _answer(await self._frontend.press(request["user"], custom_id, thread))

    async def save_settings(self, request: web.Request) -> web.Response:
        return _answer(await self._frontend.save_settings(request["user"], await read_json(request)))

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: the member's whole feed, then each new message as it comes."""
        after = request.headers.get("Last-Event-ID") or "0"
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", **SECURITY_HEADERS}
        )
        await response.prepare(request)
        try:
            async for event_id, message in self._frontend.feed.follow(request["user"], after):
                if not event_id:
                    await response.write(b": still here\n\n")  # keeps proxies and the page's socket open
                    continue
                data = json.dumps(self._with_image_tokens(message, request["user"]), ensure_ascii=False)
                await response.write(f"id: {event_id}\ndata: {data}\n\n".encode())
        except ConnectionResetError:
            pass  # the page went away
        except Superseded:  # the page is told, so it does not reconnect and close another in turn
            await response.write(b"event: superseded\ndata: {}\n\n")
        return response

    def _with_image_tokens(self, message: dict[str, Any], user: str) -> dict[str, Any]:
        """A result's image URLs as this member may open them (see `Sessions.image_token`)."""
        if message.get("kind") != "result":
            return message
        images = []
        for image in message.get("images", []):
            key = image["url"].rsplit("/", 1)[-1]
            images.append({**image, "url": f"{image['url']}?t={self._sessions.image_token(user, key)}"})
        return {**message, "images": images}

    async def image(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        token = request.query.get("t", "")
        expected = self._sessions.image_token(request["user"], key)
        if not IMAGE_KEY.fullmatch(key) or not hmac.compare_digest(token, expected):
            raise web.HTTPNotFound(reason="no such image")  # guessed, or another member's
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


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _error(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status)

"""The page's routes for 🖌️ Vary (Region): the editor submitted over an image of the member's own thread,
and the editor opened by a link from a chat (bot/interactions/edit_links.py).

A link needs no login: it is the member's proof, for one image and one edit. The browser that opens
it first keeps it (a cookie of its own holds a random id), so a link forwarded to someone else is
refused there.
"""

from __future__ import annotations

import asyncio
import secrets
from importlib import resources

from aiohttp import web

from bot.interactions.edit_links import EditLink, EditLinks, LinkRefused, link_not_yours
from bot.web.bodies import MAX_TEXT, Told, read_upload
from bot.web.frontend import Answer, WebFrontend
from shared.messages import turn_forgotten

BROWSER_COOKIE = "imagine_editor"
# The routes a link opens without a session (the server's guard lets them through)
LINK_ROUTES = {"edit-page", "edit-details", "edit-image", "edit-submit"}
EDIT_FIELDS = frozenset({"job", "index"})  # with text, thread and the mask as its one picture


class EditorRoutes:
    def __init__(self, frontend: WebFrontend, *, picture_cap: int) -> None:
        self._frontend = frontend
        self._picture_cap = picture_cap
        config = frontend.core.settings.config.web
        self._links = EditLinks(frontend.core.redis, minutes=config.edit_link_minutes)

    def add_to(self, app: web.Application) -> None:
        app.router.add_post("/api/region", self.submit_here, name="region")
        app.router.add_get("/edit/{token}", self.page, name="edit-page")
        app.router.add_get("/api/edit/{token}", self.details, name="edit-details")
        app.router.add_get("/api/edit/{token}/image", self.image, name="edit-image")
        app.router.add_post("/api/edit/{token}", self.submit_by_link, name="edit-submit")

    async def submit_here(self, request: web.Request) -> web.Response:
        """The editor over an image of the member's thread on this page: `thread`, `job`, `index`,
        `text` and the `mask` (multipart)."""
        try:
            body, (mask,) = await self._upload(request)
        except Told as told:
            return answer(Answer(private=[str(told)]))
        thread, job, index = body.get("thread", ""), body.get("job", ""), body.get("index", "0")
        if not (thread and job and index.isdigit()):
            raise web.HTTPBadRequest(reason="an edit names its thread, job and image")
        text = body.get("text", "")
        return answer(await self._frontend.vary_region(request["user"], thread, job, int(index), text, mask))

    async def page(self, request: web.Request) -> web.Response:
        body = resources.files("bot.web").joinpath("static", "edit.html").read_bytes()
        return web.Response(body=body, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def details(self, request: web.Request) -> web.Response:
        """What the link's editor shows: the image, its prompt and whose it is; or why it does not open.
        The first browser to ask keeps the link."""
        browser = request.cookies.get(BROWSER_COOKIE) or secrets.token_hex(16)
        try:
            link = await self._open(request, browser)
        except LinkRefused as refused:
            response = web.json_response({"error": str(refused)}, status=410)
        else:
            core = self._frontend.core
            turn = await asyncio.to_thread(core.turn, link.where.member, link.job_id)
            who = link.where.member.user_name or link.where.member.user
            response = (
                web.json_response(
                    {"error": turn_forgotten(core.settings.config.threads.ttl_days)}, status=410
                )
                if turn is None  # the thread's memory ran out since the link was made
                else web.json_response(
                    {
                        "prompt": turn.prompt,
                        "image": f"/api/edit/{request.match_info['token']}/image",
                        "who": who,
                        "platform": link.where.member.platform.capitalize(),
                    }
                )
            )
        if BROWSER_COOKIE not in request.cookies:
            response.set_cookie(
                BROWSER_COOKIE, browser, path="/", httponly=True, samesite="Strict", secure=request.secure
            )
        return response

    async def image(self, request: web.Request) -> web.Response:
        try:
            link = await self._open(request, request.cookies.get(BROWSER_COOKIE, ""))
        except LinkRefused as refused:
            raise web.HTTPGone(reason=str(refused)) from None
        core = self._frontend.core
        turn = await asyncio.to_thread(core.turn, link.where.member, link.job_id)
        if turn is None or not turn.images:
            raise web.HTTPNotFound(reason="this image has expired")
        data = await asyncio.to_thread(core.images.get, turn.images[min(link.index, len(turn.images) - 1)])
        if data is None:
            raise web.HTTPNotFound(reason="this image has expired")
        return web.Response(
            body=data, content_type="image/png", headers={"Cache-Control": "private, no-store"}
        )

    async def submit_by_link(self, request: web.Request) -> web.Response:
        """The link's edit (bot/interactions/region.py: submit_by_link spends the link)."""
        try:
            link = await self._open(request, request.cookies.get(BROWSER_COOKIE, ""))
            body, (mask,) = await self._upload(request)
        except (LinkRefused, Told) as refused:
            return answer(Answer(private=[str(refused)]))
        return answer(await self._frontend.vary_region_by_link(self._links, link, body.get("text", ""), mask))

    async def _open(self, request: web.Request, browser: str) -> EditLink:
        if not browser:
            raise LinkRefused(link_not_yours())
        return await asyncio.to_thread(self._links.open, request.match_info["token"], browser)

    async def _upload(self, request: web.Request) -> tuple[dict[str, str], list[bytes]]:
        """The form's fields and its one mask picture; Told when it brings none, or a bad one."""
        if request.content_type != "multipart/form-data":
            raise Told("An edit is sent as a form with its mask.")
        body, pictures = await read_upload(request, self._picture_cap, fields=EDIT_FIELDS)
        if len(pictures) != 1:
            raise Told("Mark where to change the picture first: paint over it.")
        if len(body.get("text", "")) > MAX_TEXT:
            raise Told(f"Say what goes there in at most {MAX_TEXT} characters.")
        return body, pictures


def answer(result: Answer) -> web.Response:
    """An action's answer; `editor` only where it opens the region editor."""
    body = {"taken": result.taken, "private": result.private, "buttons": result.buttons, "form": result.form}
    if result.editor is not None:
        body["editor"] = result.editor
    return web.json_response(body)

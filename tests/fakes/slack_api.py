"""A fake of Slack's Web API for the calls imagine-bot makes, answering as Slack does: HTTP 200 with
`{"ok": false, "error": ...}` for API errors, 429 with Retry-After on demand, form or JSON bodies,
the three-step file upload (getUploadURLExternal, the upload URL, completeUploadExternal), and
`apps.connections.open` pointing at a Socket Mode websocket fake.

It also signs and builds what Slack sends: slash commands, events and interactivity payloads.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.http import FakeServer, Recorded, Reply

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"
SIGNING_SECRET = "fake-signing-secret"
TEAM_ID, BOT_USER, APP_ID = "T0FAKE", "UBOT", "A0FAKE"
CHANNEL, OWNER = "C0GENERAL", "UALICE"
DM_CHANNEL = "D0ALICE"  # the member's DM with the app
SCOPES = (
    "chat:write,commands,files:write,reactions:write,app_mentions:read,channels:history,im:history,users:read,"
    "files:read"
)


@dataclass
class Posted:
    """A message as members see it."""

    channel: str
    ts: str
    text: str
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] = field(default_factory=list)
    user: str = BOT_USER
    files: list[dict[str, Any]] = field(default_factory=list)
    edits: int = 0


class FakeSlack(FakeServer):
    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self._ts = itertools.count(1)
        self._lock2 = threading.RLock()
        self.messages: list[Posted] = []
        self.ephemeral: list[dict[str, Any]] = []
        self.reactions: dict[str, list[str]] = {}  # ts -> names (the app's own)
        self.views: list[dict[str, Any]] = []  # views.open and views.publish bodies
        self.uploads: dict[str, bytes] = {}  # file id -> bytes
        self.response_urls: list[dict[str, Any]] = []
        self.gone_channels: set[str] = set()
        self.admins: set[str] = set()  # workspace admins (users.info's is_admin)
        self.shared: dict[str, tuple[dict[str, Any], bytes]] = {}  # members' files: id -> (file, bytes)
        self.can_read_files = True  # the app was granted files:read
        self._rate_limits: deque[tuple[re.Pattern[str], list[int], float]] = deque()
        self.socket: SocketModeFake | None = None

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    # --- scenario controls ---------------------------------------------------------------------

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        with self._lock2:
            self._rate_limits.append((re.compile(method), [times], retry_after))

    def thread(self, channel: str, thread_ts: str) -> list[Posted]:
        with self._lock2:
            return [m for m in self.messages if m.channel == channel and m.thread_ts == thread_ts]

    def parent(self, text_fragment: str) -> Posted | None:
        with self._lock2:
            return next((m for m in self.messages if m.thread_ts is None and text_fragment in m.text), None)

    def image_posts(self, channel: str, thread_ts: str) -> list[Posted]:
        return [m for m in self.thread(channel, thread_ts) if m.files]

    def new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    # --- what Slack sends ----------------------------------------------------------------------

    @staticmethod
    def signed(body: bytes, *, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}

    def slash_command(self, text: str, *, user: str = OWNER, channel: str = CHANNEL) -> dict[str, str]:
        return {
            "token": "deprecated",
            "team_id": TEAM_ID,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/imagine",
            "text": text,
            "api_app_id": APP_ID,
            "response_url": f"{self.url}/response/{self.new_ts()}",
            "trigger_id": f"trigger-{self.new_ts()}",
        }

    def event(self, event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        return {
            "token": "deprecated",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{self.new_ts().replace('.', '')}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER, "is_bot": True}],
        }

    def reply(
        self, thread_ts: str, text: str, *, user: str = OWNER, bot: bool = False, channel: str = CHANNEL
    ) -> dict:
        event = {"type": "message", "channel": channel, "user": user, "text": text, "ts": self.new_ts()}
        event.update({"thread_ts": thread_ts, "team": TEAM_ID, "channel_type": "channel"})
        if bot:
            event.update({"bot_id": "B0OTHER", "subtype": "bot_message"})
        return event

    def direct_message(self, text: str, *, thread_ts: str | None = None, user: str = OWNER) -> dict:
        """A message in a member's DM with the app (the Messages tab): channel_type "im"."""
        event = {"type": "message", "channel": DM_CHANNEL, "user": user, "text": text, "ts": self.new_ts()}
        event.update({"team": TEAM_ID, "channel_type": "im"})
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    def star(self, message: Posted, *, user: str = OWNER, removed: bool = False) -> dict:
        """reaction_added (or _removed) for a member's ⭐ on a message."""
        return {
            "type": "reaction_removed" if removed else "reaction_added",
            "user": user,
            "reaction": "star",
            "item_user": message.user,
            "item": {"type": "message", "channel": message.channel, "ts": message.ts},
            "event_ts": self.new_ts(),
        }

    def mention(self, text: str, *, thread_ts: str | None = None, user: str = OWNER) -> dict:
        event = {"type": "app_mention", "channel": CHANNEL, "user": user, "ts": self.new_ts()}
        event.update({"text": f"<@{BOT_USER}> {text}", "team": TEAM_ID})
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    def share(self, data: bytes, name: str = "mine.png", mimetype: str = "image/png") -> dict[str, Any]:
        """A file a member shared, as a message event carries it; only the bot token opens its URL."""
        file_id = f"F{self.new_ts().replace('.', '')}"
        url = f"{self.url}/files-pri/{TEAM_ID}-{file_id}/{name}"
        file = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1],
            "size": len(data),
            "user": OWNER,
            "url_private": url,
            "url_private_download": f"{self.url}/files-pri/{TEAM_ID}-{file_id}/download/{name}",
        }
        with self._lock2:
            self.shared[file_id] = (file, data)
        return file

    def with_files(self, event: dict[str, Any], files: list[dict[str, Any]]) -> dict[str, Any]:
        """A message event (`reply`, `mention`) that shares `files` (from `share`): a message event's
        subtype is then file_share; an app_mention has none."""
        subtype = {"subtype": "file_share"} if event["type"] == "message" else {}
        return {**event, "files": files, "upload": False, **subtype}

    def message_shortcut(self, callback_id: str, message: dict[str, Any], *, user: str = OWNER) -> dict:
        """A message shortcut run on a member's message (a message event from `reply` or `with_files`)."""
        return {
            **self._interactive("message_action", user),
            "callback_id": callback_id,
            "message_ts": message["ts"],
            "response_url": f"{self.url}/response/{self.new_ts()}",
            "channel": {"id": message["channel"], "name": "general"},
            "message": {k: v for k, v in message.items() if k not in ("channel", "channel_type", "team")},
        }

    def file_form_submission(
        self, view: dict[str, Any], files: list[dict[str, Any]], text: str = "", *, user: str = OWNER
    ) -> dict[str, Any]:
        """A form with a file input ("pictures") and a text field ("prompt") submitted."""
        state = {
            "values": {
                "pictures": {"pictures": {"type": "file_input", "files": files}},
                "prompt": {"prompt": {"type": "plain_text_input", "value": text or None}},
            }
        }
        return self._submitted(view, state, user)

    def block_action(self, message: Posted, action_id: str, *, user: str = OWNER) -> dict[str, Any]:
        action = {"type": "button", "action_id": action_id, "block_id": "b", "value": action_id.split(":")[2]}
        action["action_ts"] = self.new_ts()
        return {
            **self._interactive("block_actions", user),
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
                "thread_ts": message.thread_ts,
            },
            "channel": {"id": message.channel, "name": "general"},
            "message": {
                "type": "message",
                "ts": message.ts,
                "thread_ts": message.thread_ts,
                "text": message.text,
                "blocks": message.blocks,
            },
            "actions": [action],
        }

    def home_button(self, action_id: str, *, user: str = OWNER) -> dict[str, Any]:
        """A press of a button on the App Home tab (a view, not a message)."""
        action = {"type": "button", "action_id": action_id, "block_id": "b", "action_ts": self.new_ts()}
        return {
            **self._interactive("block_actions", user),
            "container": {"type": "view", "view_id": "VHOME"},
            "view": {"id": "VHOME", "type": "home", "blocks": []},
            "actions": [action],
        }

    def _interactive(self, kind: str, user: str) -> dict[str, Any]:
        """What every interactive payload (a button, a form's submit) starts with."""
        return {
            "type": kind,
            "team": {"id": TEAM_ID, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "deprecated",
            "trigger_id": f"trigger-{self.new_ts()}",
        }

    def view_submission(self, view: dict[str, Any], text: str, *, user: str = OWNER) -> dict[str, Any]:
        state = {"values": {"instruction": {"instruction": {"type": "plain_text_input", "value": text}}}}
        return self._submitted(view, state, user)

    def regions_submission(
        self, view: dict[str, Any], regions: list[str], text: str, *, user: str = OWNER
    ) -> dict[str, Any]:
        """Vary (Region)'s form submitted: the regions chosen in its multi-select, and the words."""
        chosen = [{"text": {"type": "plain_text", "text": name}, "value": name} for name in regions]
        state = {
            "values": {
                "regions": {"regions": {"type": "multi_static_select", "selected_options": chosen}},
                "instruction": {"instruction": {"type": "plain_text_input", "value": text or None}},
            }
        }
        return self._submitted(view, state, user)

    def form_submission(
        self, view: dict[str, Any], picks: dict[str, str | None], texts: dict[str, str], *, user: str = OWNER
    ) -> dict[str, Any]:
        """A modal's submit: each select's chosen value (None: nothing chosen) and each text field,
        keyed by block id, as Slack sends `view.state.values` (action id = block id here)."""
        values: dict[str, Any] = {}
        for block, value in picks.items():
            chosen = {"text": {"type": "plain_text", "text": value}, "value": value} if value else None
            values[block] = {block: {"type": "static_select", "selected_option": chosen}}
        for block, text in texts.items():
            values[block] = {block: {"type": "plain_text_input", "value": text or None}}
        return self._submitted(view, {"values": values}, user)

    def _submitted(self, view: dict[str, Any], state: dict[str, Any], user: str) -> dict[str, Any]:
        return {
            **self._interactive("view_submission", user),
            "view": {**view, "id": f"V{self.new_ts().replace('.', '')}", "state": state, "team_id": TEAM_ID},
        }

    # --- the API --------------------------------------------------------------------------------

    def answer(self, request: Recorded) -> Reply:
        path = request.path.split("?", 1)[0]
        if path.startswith("/upload/"):
            with self._lock2:
                self.uploads[path.removeprefix("/upload/")] = request.body
            return Reply(200, b"OK - 2", {"content-type": "text/plain"})
        if path.startswith("/response/"):
            with self._lock2:
                self.response_urls.append(request.json())
            return Reply(200, b"ok", {"content-type": "text/plain"})
        if path.startswith("/files-pri/"):
            return self._file(request, path)
        method = path.removeprefix("/api/")
        with self._lock2:
            for pattern, left, retry_after in self._rate_limits:
                if left[0] > 0 and pattern.fullmatch(method):
                    left[0] -= 1
                    return Reply.json(
                        {"ok": False, "error": "ratelimited"}, 429, **{"retry-after": str(retry_after)}
                    )
        token = request.headers.get("authorization", "")
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != f"Bearer {expected}":
            return Reply.json({"ok": False, "error": "invalid_auth"})
        args = _arguments(request)
        with self._lock2:
            return self._call(method, args)

    def _call(self, method: str, args: dict[str, Any]) -> Reply:  # noqa: C901 - one table of methods
        channel = args.get("channel") or args.get("channel_id")
        if channel == OWNER:  # a user id as the channel: the app's DM with them (its Messages tab)
            channel = DM_CHANNEL
        if channel in self.gone_channels:
            return Reply.json({"ok": False, "error": "channel_not_found"})
        if method == "auth.test":
            body = {
                "ok": True,
                "url": "https://fake.slack.com/",
                "team": "Fake",
                "user": "imagine",
                "team_id": TEAM_ID,
            }
            return Reply.json(
                {**body, "user_id": BOT_USER, "bot_id": "B0IMAGINE"}, **{"x-oauth-scopes": SCOPES}
            )
        if method == "chat.getPermalink":
            ts = args.get("message_ts", "")
            link = f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"
            return Reply.json({"ok": True, "channel": channel, "permalink": link})
        if method == "users.info":
            user = args.get("user", "")
            admin = user in self.admins
            profile = {"id": user, "team_id": TEAM_ID, "name": user.lower(), "is_bot": False}
            return Reply.json({"ok": True, "user": {**profile, "is_admin": admin, "is_owner": False}})
        if method == "chat.postMessage":
            posted = Posted(
                channel,
                self.new_ts(),
                args.get("text", ""),
                args.get("thread_ts"),
                _json_arg(args.get("blocks")) or [],
            )
            self.messages.append(posted)
            return Reply.json(
                {
                    "ok": True,
                    "channel": channel,
                    "ts": posted.ts,
                    "message": {"text": posted.text, "ts": posted.ts},
                }
            )
        if method == "chat.update":
            posted = next((m for m in self.messages if m.channel == channel and m.ts == args.get("ts")), None)
            if posted is None:
                return Reply.json({"ok": False, "error": "message_not_found"})
            posted.text = args.get("text", posted.text)
            posted.edits += 1
            return Reply.json({"ok": True, "channel": channel, "ts": posted.ts, "text": posted.text})
        if method == "chat.postEphemeral":
            self.ephemeral.append(args)
            return Reply.json({"ok": True, "message_ts": self.new_ts()})
        if method in ("reactions.add", "reactions.remove"):
            names = self.reactions.setdefault(args["timestamp"], [])
            if method == "reactions.add" and args["name"] not in names:
                names.append(args["name"])
            elif method == "reactions.remove":
                if args["name"] not in names:
                    return Reply.json({"ok": False, "error": "no_reaction"})
                names.remove(args["name"])
            return Reply.json({"ok": True})
        if method in ("views.open", "views.publish"):
            view = _json_arg(args.get("view"))
            self.views.append({"method": method, **args, "view": view})
            return Reply.json({"ok": True, "view": {**view, "id": f"V{self.new_ts()}"}})
        if method == "files.getUploadURLExternal":
            file_id = f"F{self.new_ts().replace('.', '')}"
            return Reply.json({"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id})
        if method == "files.completeUploadExternal":
            files = _json_arg(args["files"])
            if any(f["id"] not in self.uploads for f in files):
                return Reply.json({"ok": False, "error": "file_not_found"})
            shared = [
                {"id": f["id"], "title": f.get("title"), "size": len(self.uploads[f["id"]])} for f in files
            ]
            posted = Posted(
                channel, self.new_ts(), args.get("initial_comment", ""), args.get("thread_ts"), files=shared
            )
            self.messages.append(posted)
            return Reply.json({"ok": True, "files": shared})
        if method == "files.info":
            if not self.can_read_files:
                return Reply.json({"ok": False, "error": "missing_scope", "needed": "files:read"})
            found = self.shared.get(args.get("file", ""))
            if found is None:
                return Reply.json({"ok": False, "error": "file_not_found"})
            return Reply.json({"ok": True, "file": found[0]})
        if method == "apps.connections.open":
            assert self.socket is not None, "start a SocketModeFake first"
            return Reply.json({"ok": True, "url": self.socket.url})
        return Reply.json({"ok": False, "error": "unknown_method"})

    def _file(self, request: Recorded, path: str) -> Reply:
        """url_private: the bytes with the bot token; without it, Slack's sign-in page."""
        if request.headers.get("authorization") != f"Bearer {BOT_TOKEN}" or not self.can_read_files:
            return Reply(302, b"", {"content-type": "text/html", "location": "https://fake.slack.com/"})
        file_id = path.removeprefix("/files-pri/").split("/", 1)[0].split("-", 1)[-1]
        with self._lock2:
            found = self.shared.get(file_id)
        if found is None:
            return Reply(404, b"", {"content-type": "text/html"})
        return Reply(200, found[1], {"content-type": found[0]["mimetype"]})


def _arguments(request: Recorded) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        return json.loads(request.body or b"{}")
    query = request.path.split("?", 1)[1] if "?" in request.path else ""
    args = dict(urllib.parse.parse_qsl(query))
    args.update(urllib.parse.parse_qsl(request.body.decode()))
    return args


def _json_arg(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class SocketModeFake:
    """Slack's Socket Mode websocket: sends `hello`, pushes envelopes, records the app's acks."""

    def __init__(self) -> None:
        self.acks: dict[str, dict[str, Any]] = {}
        self._loop = asyncio.new_event_loop()
        self._sockets: list[web.WebSocketResponse] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.url = ""

    def __enter__(self) -> SocketModeFake:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def connected(self) -> bool:
        return bool(self._sockets)

    def push(self, envelope_type: str, payload: dict[str, Any]) -> str:
        """Send an envelope to the connected app; returns its id (see `acks`)."""
        envelope_id = f"env-{time.monotonic_ns()}"
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        asyncio.run_coroutine_threadsafe(self._sockets[-1].send_str(json.dumps(envelope)), self._loop).result(
            5
        )
        return envelope_id

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/link", self._socket)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"ws://127.0.0.1:{port}/link"
        self._ready.set()
        self._loop.run_forever()

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str(
            json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
        )
        self._sockets.append(socket)
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                ack = json.loads(message.data)
                if "envelope_id" in ack:
                    self.acks[ack["envelope_id"]] = ack
        self._sockets.remove(socket)
        return socket


def serve(port: int) -> None:
    """Run the fake on `port` until killed (benchmarks keep it out of the process that times)."""
    with FakeSlack(port=port):
        threading.Event().wait()

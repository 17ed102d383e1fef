"""A fake of Discord's REST API (v10) for the requests imagine-bot makes, answering as Discord does:
JSON with exactly `application/json`, messages and threads as stored objects, multipart messages with
`payload_json` and `files[n]`, `{"interaction": ...}` from interaction callbacks, error bodies with
Discord's codes, and 429s with `retry_after` (per route or global) on demand.

It also builds the raw interaction payloads Discord sends (slash command, button, modal submit,
autocomplete) and the gateway payloads for thread replies, in the documented shapes.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http import FakeServer, Recorded, Reply

APP_ID = "1100000000000000001"
BOT_ID = "1100000000000000002"
GUILD_ID = "1200000000000000001"
CHANNEL_ID = "1200000000000000002"
OWNER_ID = "1300000000000000001"
TOKEN = "fake-bot-token"
MESSAGE_CONTENT_INTENT = 1 << 18
DEFAULT_PERMISSIONS = str((1 << 41) - 1)  # everything up to Create Public Threads and more
EMPTY = "\u200b"


def _user(user_id: str, name: str, bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "global_name": name.title(),
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


BOT_USER = _user(BOT_ID, "imagine-bot", bot=True)


def _error(status: int, message: str, code: int, **headers: str) -> Reply:
    return Reply.json({"message": message, "code": code}, status, **headers)


@dataclass
class RateLimit:
    pattern: re.Pattern[str]
    times: int
    retry_after: float
    is_global: bool


NONCE_SECONDS = 300  # "the past few minutes" of enforce_nonce


@dataclass
class StoredMessage:
    data: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)  # filename -> bytes
    edits: int = 0
    at: float = field(default_factory=time.time)  # when it was posted


class FakeDiscord(FakeServer):
    """State: channels, threads, messages, reactions; `posts_in(channel)` is what users would see."""

    def __init__(self, *, message_content_intent: bool = True) -> None:
        super().__init__()
        self._ids = itertools.count(1400000000000000000)
        self._state_lock = threading.RLock()
        self.flags = MESSAGE_CONTENT_INTENT if message_content_intent else 0
        self.channels: dict[str, dict[str, Any]] = {CHANNEL_ID: self.text_channel(CHANNEL_ID, "general")}
        self.messages: dict[str, StoredMessage] = {}
        self.reactions: dict[str, list[str]] = {}  # message id -> emoji (bot's own), in order
        self.interactions: dict[str, dict[str, Any]] = {}  # token -> the interaction payload
        self.callbacks: dict[str, dict[str, Any]] = {}  # interaction id -> the first response
        self.commands: list[dict[str, Any]] = []
        self.forbidden: set[str] = set()  # channels where the bot lost access
        self.cdn: dict[str, bytes] = {}  # attachment id -> the file members attached
        self._rate_limits: deque[RateLimit] = deque()
        self.upload_seconds = 0.0  # how long a message with files takes to answer (a slow upload)

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v10"

    # --- scenario controls ---------------------------------------------------------------------

    def rate_limit(
        self, pattern: str, *, times: int = 1, retry_after: float = 0.05, is_global: bool = False
    ) -> None:
        """The next `times` requests whose 'METHOD path' matches `pattern` get a 429."""
        with self._state_lock:
            self._rate_limits.append(RateLimit(re.compile(pattern), times, retry_after, is_global))

    def expire(self, interaction: dict[str, Any]) -> None:
        """Its token runs out (15 minutes on Discord): its webhook answers Unknown Webhook."""
        with self._state_lock:
            self.interactions.pop(interaction["token"], None)

    def delete_channel(self, channel_id: str) -> None:
        with self._state_lock:
            self.channels.pop(channel_id, None)

    def new_id(self) -> str:
        return str(next(self._ids))

    # --- what a member would see ----------------------------------------------------------------

    def posts_in(self, channel_id: str) -> list[StoredMessage]:
        with self._state_lock:
            return [m for m in self.messages.values() if m.data["channel_id"] == channel_id]

    def image_posts_in(self, channel_id: str) -> list[StoredMessage]:
        return [m for m in self.posts_in(channel_id) if m.files]

    def threads(self) -> list[dict[str, Any]]:
        with self._state_lock:
            return [c for c in self.channels.values() if c["type"] == 11]

    def original(self, interaction_token: str) -> StoredMessage | None:
        with self._state_lock:
            interaction = self.interactions.get(interaction_token)
            if interaction is None:
                return None
            return self.messages.get(interaction.get("_original_id", ""))

    def requests_to(self, method: str, pattern: str) -> list[Recorded]:
        regex = re.compile(pattern)
        return [r for r in list(self.requests) if r.method == method and regex.search(r.path)]

    # --- payloads Discord would send -----------------------------------------------------------

    def dm_channel(self, user_id: str = OWNER_ID) -> dict[str, Any]:
        """The bot's direct-message channel with a member (made on first use, as Discord does)."""
        with self._state_lock:
            for channel in self.channels.values():
                if channel["type"] == 1 and channel["recipients"][0]["id"] == user_id:
                    return channel
            channel = {
                "id": self.new_id(),
                "type": 1,
                "last_message_id": None,
                "recipients": [_user(user_id, "alice")],
                "flags": 0,
            }
            self.channels[channel["id"]] = channel
            return channel

    def private_channel(self) -> dict[str, Any]:
        """A group DM among members where the app is used as a user-installed app: the bot is not in it,
        so it may answer interactions there but not post or read on its own."""
        with self._state_lock:
            channel = {"id": self.new_id(), "type": 3, "recipients": [_user(OWNER_ID, "alice")], "flags": 0}
            self.channels[channel["id"]] = channel
            self.forbidden.add(channel["id"])
            return channel

    @staticmethod
    def text_channel(channel_id: str, name: str, *, nsfw: bool = False) -> dict[str, Any]:
        return {
            "id": channel_id,
            "type": 0,
            "guild_id": GUILD_ID,
            "name": name,
            "position": 0,
            "permission_overwrites": [],
            "nsfw": nsfw,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }

    def member(
        self, user_id: str = OWNER_ID, name: str = "alice", *, roles=(), permissions=None
    ) -> dict[str, Any]:
        return {
            "user": _user(user_id, name),
            "roles": list(roles),
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": permissions or str(1 << 11),  # send messages; no Manage Messages
        }

    def interaction(
        self,
        type_: int,
        data: dict[str, Any],
        *,
        channel_id: str = CHANNEL_ID,
        member: dict[str, Any] | None = None,
        message: dict[str, Any] | None = None,
        upload_limit: int = 10 * 1024 * 1024,
        interaction_id: str | None = None,
    ) -> dict[str, Any]:
        """A raw interaction as Discord sends it (gateway INTERACTION_CREATE or HTTP POST). In a DM
        channel (type 1, context 1) or a private channel (type 3, context 2) it has no guild: a `user`
        instead of a `member`."""
        interaction_id = interaction_id or self.new_id()
        token = f"token-{interaction_id}"
        with self._state_lock:
            channel = dict(self.channels.get(channel_id) or self.text_channel(channel_id, "gone"))
        payload: dict[str, Any] = {
            "id": interaction_id,
            "application_id": APP_ID,
            "type": type_,
            "token": token,
            "version": 1,
            "guild_id": GUILD_ID,
            "channel_id": channel_id,
            "channel": channel,
            "member": member or self.member(),
            "data": data,
            "app_permissions": DEFAULT_PERMISSIONS,
            "locale": "en-US",
            "guild_locale": "en-US",
            "attachment_size_limit": upload_limit,
            "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD_ID},
            "context": 0,
        }
        if channel["type"] in (1, 3):
            del payload["guild_id"], payload["guild_locale"]
            payload["user"] = payload.pop("member")["user"]
            payload["context"] = 1 if channel["type"] == 1 else 2
            payload["authorizing_integration_owners"] = (
                {"0": GUILD_ID} if channel["type"] == 1 else {"1": payload["user"]["id"]}
            )
        if message is not None:
            payload["message"] = message
        with self._state_lock:
            self.interactions[token] = payload
        return payload

    def attach(
        self, data: bytes, filename: str = "mine.png", content_type: str = "image/png"
    ) -> dict[str, Any]:
        """A file a member attached to a command, served by this fake's CDN; pass it as an option."""
        attachment_id = self.new_id()
        with self._state_lock:
            self.cdn[attachment_id] = data
        url = f"{self.url}/attachments/{attachment_id}/{filename}"
        return {
            "id": attachment_id,
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }

    def slash_command(self, name: str = "imagine", **options: Any) -> dict[str, Any]:
        kinds = {str: 3, int: 4, bool: 5, float: 10, dict: 11}  # dict: an attachment (see `attach`)
        where = ("channel_id", "member", "upload_limit", "interaction_id")
        extra = {k: options.pop(k) for k in where if k in options}
        given = [
            {
                "name": key,
                "type": kinds[type(value)],
                "value": value["id"] if isinstance(value, dict) else value,
            }
            for key, value in options.items()
            if value is not None
        ]
        data: dict[str, Any] = {"id": "1500000000000000001", "name": name, "type": 1, "options": given}
        attachments = {v["id"]: v for v in options.values() if isinstance(v, dict)}
        if attachments:
            data["resolved"] = {"attachments": attachments}
        return self.interaction(2, data, **extra)

    def message_command(
        self, name: str, content: str = "", *, attachments: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """A message context-menu command (type 3) run on a member's message in the channel, whose
        files come from `attach`; the message arrives resolved, as Discord sends it."""
        message = self._message(CHANNEL_ID, content, author=_user(OWNER_ID, "alice"))
        message["attachments"] = attachments or []
        with self._state_lock:
            self.messages[message["id"]] = StoredMessage(message)
        data = {
            "id": "1500000000000000002",
            "name": name,
            "type": 3,
            "target_id": message["id"],
            "resolved": {"messages": {message["id"]: message}},
        }
        return self.interaction(2, data)

    def autocomplete(
        self, focused: str, value: str, *, channel_id: str = CHANNEL_ID, **others: Any
    ) -> dict[str, Any]:
        options = [{"name": k, "type": 3, "value": v} for k, v in others.items()]
        options.append({"name": focused, "type": 3, "value": value, "focused": True})
        return self.interaction(
            4,
            {"id": "1500000000000000001", "name": "imagine", "type": 1, "options": options},
            channel_id=channel_id,
        )

    def button_press(self, message: StoredMessage, custom_id: str, **kwargs: Any) -> dict[str, Any]:
        data = {"custom_id": custom_id, "component_type": 2}
        return self.interaction(
            3, data, channel_id=message.data["channel_id"], message=message.data, **kwargs
        )

    def press_under_new_message(self, custom_id: str) -> dict[str, Any]:
        """A press of a button under a bot message this fake makes for it (as if posted earlier)."""
        message = self._message(CHANNEL_ID, "", author=_user(APP_ID, "imagine", bot=True))
        button = {"type": 2, "style": 2, "label": "?", "custom_id": custom_id}
        message["components"] = [{"type": 1, "components": [button]}]
        with self._state_lock:
            self.messages[message["id"]] = StoredMessage(message)
        return self.button_press(self.messages[message["id"]], custom_id)

    def select(
        self, message: StoredMessage, custom_id: str, values: list[str], **kwargs: Any
    ) -> dict[str, Any]:
        """A choice in a select menu under a message (component type 3)."""
        data = {"custom_id": custom_id, "component_type": 3, "values": values}
        return self.interaction(
            3, data, channel_id=message.data["channel_id"], message=message.data, **kwargs
        )

    def modal_submit(
        self, custom_id: str, channel_id: str, text: str, *, field: str = "instruction", **kwargs: Any
    ) -> dict[str, Any]:
        data = {
            "custom_id": custom_id,
            "components": [{"type": 1, "components": [{"type": 4, "custom_id": field, "value": text}]}],
        }
        return self.interaction(5, data, channel_id=channel_id, **kwargs)

    def labelled_modal_submit(
        self, custom_id: str, channel_id: str, fields: dict[str, str | list[str]], **kwargs: Any
    ) -> dict[str, Any]:
        """A modal of labels submitted (component type 18 around each field): a text input's value,
        or a select's chosen values."""
        components = [
            {
                "type": 18,
                "component": {"type": 3, "custom_id": name, "values": value}
                if isinstance(value, list)
                else {"type": 4, "custom_id": name, "value": value},
            }
            for name, value in fields.items()
        ]
        return self.interaction(
            5, {"custom_id": custom_id, "components": components}, channel_id=channel_id, **kwargs
        )

    def guild_create(self) -> dict[str, Any]:
        """GUILD_CREATE as the gateway sends it once the bot is in the guild."""
        with self._state_lock:
            channels = [c for c in self.channels.values() if c["type"] == 0]
            threads = [c for c in self.channels.values() if c["type"] == 11]
        return {
            "id": GUILD_ID,
            "name": "Test Server",
            "icon": None,
            "owner_id": OWNER_ID,
            "roles": [
                {
                    "id": GUILD_ID,
                    "name": "@everyone",
                    "permissions": str(1 << 11),
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "emojis": [],
            "stickers": [],
            "features": [],
            "premium_tier": 0,
            "member_count": 3,
            "members": [],
            "channels": channels,
            "threads": threads,
            "presences": [],
            "voice_states": [],
            "unavailable": False,
            "large": False,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "system_channel_flags": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
        }

    def thread_message(
        self,
        thread_id: str,
        content: str,
        *,
        author_id: str = OWNER_ID,
        bot: bool = False,
        attachments: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """MESSAGE_CREATE for a member's (or a bot's) message in a thread, with files from `attach`."""
        message = self._message(
            thread_id, content, author=_user(author_id, "alice" if not bot else "otherbot", bot=bot)
        )
        message["attachments"] = attachments or []
        message["guild_id"] = GUILD_ID
        if not bot:
            message["member"] = {k: v for k, v in self.member(author_id).items() if k != "user"}
        with self._state_lock:  # it exists on Discord before the gateway tells anyone about it
            self.messages[message["id"]] = StoredMessage(message)
        return message

    def reaction(
        self, message: StoredMessage, user_id: str, emoji: str = "⭐", *, bot: bool = False
    ) -> dict[str, Any]:
        """MESSAGE_REACTION_ADD for a member's (or a bot's) reaction on a message in the guild."""
        member = self.member(user_id, "otherbot" if bot else "alice")
        member["user"]["bot"] = bot
        return {
            "user_id": user_id,
            "channel_id": message.data["channel_id"],
            "message_id": message.data["id"],
            "guild_id": GUILD_ID,
            "emoji": {"id": None, "name": emoji},
            "member": member,
            "message_author_id": message.data["author"]["id"],
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }

    def dm_message(self, content: str, *, author_id: str = OWNER_ID) -> dict[str, Any]:
        """MESSAGE_CREATE for a member's message in their DM with the bot."""
        channel = self.dm_channel(author_id)
        message = self._message(channel["id"], content, author=_user(author_id, "alice"))
        with self._state_lock:
            self.messages[message["id"]] = StoredMessage(message)
        return message

    # --- the API --------------------------------------------------------------------------------

    def answer(self, request: Recorded) -> Reply:
        path = request.path.split("?", 1)[0]
        if path == "/_test/answered":  # for benchmarks whose client runs in another process
            body = request.json()
            self.answered_over_http(body["interaction"], body["answer"])
            return Reply(204, b"", {})
        route = f"{request.method} {path}"
        limited = self._rate_limited(route)
        if limited is not None:
            return limited
        if request.headers.get("authorization") not in (f"Bot {TOKEN}", None) and "/webhooks/" not in path:
            return _error(401, "401: Unauthorized", 0)
        if self.upload_seconds and request.method == "POST" and _is_multipart(request):
            threading.Event().wait(self.upload_seconds)  # this request's thread only, as a slow link
        with self._state_lock:
            return self._route(request, path)

    def _rate_limited(self, route: str) -> Reply | None:
        with self._state_lock:
            for limit in self._rate_limits:
                if limit.times > 0 and limit.pattern.search(route):
                    limit.times -= 1
                    # Discord's answers come through its proxy (`via`); discord.py takes a 429 without
                    # that header for a Cloudflare ban and does not retry it.
                    headers = {
                        "via": "1.1 google",
                        "retry-after": f"{limit.retry_after:.3f}",
                        "x-ratelimit-scope": "global" if limit.is_global else "user",
                    }
                    if limit.is_global:
                        headers["x-ratelimit-global"] = "true"
                    else:
                        headers.update(
                            {
                                "x-ratelimit-limit": "5",
                                "x-ratelimit-remaining": "0",
                                "x-ratelimit-reset-after": f"{limit.retry_after:.3f}",
                                "x-ratelimit-bucket": "fake-bucket",
                            }
                        )
                    body = {
                        "message": "You are being rate limited.",
                        "retry_after": limit.retry_after,
                        "global": limit.is_global,
                    }
                    return Reply.json(body, 429, **headers)
        return None

    def _route(self, request: Recorded, path: str) -> Reply:  # noqa: C901 - one table of routes
        method = request.method
        parts = path.removeprefix("/api/v10").strip("/").split("/")
        if method == "GET" and parts == ["users", "@me"]:
            return Reply.json(BOT_USER)
        if method == "GET" and parts == ["oauth2", "applications", "@me"]:
            return Reply.json(self._application())
        if method == "PUT" and parts[0] == "applications" and parts[-1] == "commands":
            self.commands = request.json()
            return Reply.json([self._registered(c, parts) for c in self.commands])
        if method == "POST" and parts[0] == "interactions" and parts[-1] == "callback":
            return self._callback(parts[1], parts[2], request)
        if method == "GET" and parts[0] == "attachments" and len(parts) == 3:
            data = self.cdn.get(parts[1])
            return Reply(200, data, {"content-type": "image/png"}) if data else _error(404, "Not found", 0)
        if method == "POST" and parts == ["users", "@me", "channels"]:
            return Reply.json(self.dm_channel(str(request.json()["recipient_id"])))
        if parts[0] == "webhooks":
            return self._webhook(method, parts, request)
        if parts[0] == "channels":
            return self._channel(method, parts, request)
        return _error(404, "404: Not Found", 0)

    def _application(self) -> dict[str, Any]:
        return {
            "id": APP_ID,
            "name": "imagine-bot",
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": _user(OWNER_ID, "owner"),
            "verify_key": "00" * 32,
            "flags": self.flags,
            "summary": "",
            "team": None,
            "interactions_endpoint_url": None,
        }

    @staticmethod
    def _registered(command: dict[str, Any], parts: list[str]) -> dict[str, Any]:
        return {
            "id": "1500000000000000001",
            "application_id": APP_ID,
            "version": "1",
            "type": 1,
            "default_member_permissions": None,
            "dm_permission": True,
            "nsfw": False,
            "options": [],
            "description": "",  # Discord answers "" for a context-menu command, which sends none
            **command,
        }

    def answered_over_http(self, interaction: dict[str, Any], body: dict[str, Any]) -> None:
        """What Discord does with the HTTP answer to an interaction it POSTed: as if it were a callback."""
        with self._state_lock:
            interaction = self.interactions.get(interaction.get("token", ""), interaction)  # ours, not a copy
            if interaction.get("type") != 1 and body.get("type") and interaction["id"] not in self.callbacks:
                self._accept_callback(interaction, body)

    def _callback(self, interaction_id: str, token: str, request: Recorded) -> Reply:
        interaction = self.interactions.get(token)
        if interaction is None or interaction["id"] != interaction_id:
            return _error(404, "Unknown interaction", 10062)
        if interaction_id in self.callbacks:
            return _error(400, "Interaction has already been acknowledged.", 40060)
        return Reply.json(self._accept_callback(interaction, request.json()))

    def _accept_callback(self, interaction: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        interaction_id = interaction["id"]
        self.callbacks[interaction_id] = body
        result: dict[str, Any] = {
            "interaction": {
                "id": interaction_id,
                "type": interaction["type"],
                "response_message_loading": body["type"] == 5,
                "response_message_ephemeral": bool((body.get("data") or {}).get("flags", 0) & 64),
            }
        }
        if body["type"] in (4, 5):  # a message (or a thinking placeholder) in the channel
            data = body.get("data") or {}
            message = self._store(interaction["channel_id"], data.get("content") or "", data, author=BOT_USER)
            interaction["_original_id"] = message["id"]
            result["interaction"]["response_message_id"] = message["id"]
            result["resource"] = {"type": body["type"], "message": message}
        elif body["type"] in (6, 7) and interaction.get("message"):  # the component's own message
            stored = self.messages.get(interaction["message"]["id"])
            interaction["_original_id"] = interaction["message"]["id"]
            data = body.get("data") or {}
            if body["type"] == 7 and stored is not None:
                for key in ("content", "embeds", "components"):
                    if key in data:
                        stored.data[key] = data[key]
                stored.edits += 1
        return result

    def _webhook(self, method: str, parts: list[str], request: Recorded) -> Reply:
        token = parts[2] if len(parts) > 2 else ""
        interaction = self.interactions.get(token)
        if interaction is None:
            return _error(404, "Unknown Webhook", 10015)
        if len(parts) == 5 and parts[3] == "messages":
            message_id = interaction.get("_original_id", "") if parts[4] == "@original" else parts[4]
            stored = self.messages.get(message_id)
            if stored is None or stored.data["channel_id"] != interaction["channel_id"]:
                return _error(404, "Unknown Message", 10008)
            if method == "PATCH":
                self._edit(stored, request)
            if method == "DELETE":
                del self.messages[stored.data["id"]]
                return Reply(204, b"", {})
            return Reply.json(stored.data)
        if method == "POST" and len(parts) == 3:  # a follow-up message
            payload, files = _message_body(request)
            message = self._store(
                interaction["channel_id"], payload.get("content") or "", payload, author=BOT_USER, files=files
            )
            return Reply.json(message)
        return _error(404, "404: Not Found", 0)

    def _channel(self, method: str, parts: list[str], request: Recorded) -> Reply:
        channel_id = parts[1]
        if channel_id in self.forbidden:
            return _error(403, "Missing Access", 50001)
        if channel_id not in self.channels:
            return _error(404, "Unknown Channel", 10003)
        rest = parts[2:]
        if rest == ["messages"] and method == "POST":
            payload, files = _message_body(request)
            earlier = self._same_nonce(channel_id, payload)
            if earlier is not None:  # enforce_nonce: the message made before is returned, none is made
                return Reply.json(earlier.data)
            return Reply.json(
                self._store(channel_id, payload.get("content") or "", payload, author=BOT_USER, files=files)
            )
        if len(rest) >= 2 and rest[0] == "messages":
            stored = self.messages.get(rest[1])
            if stored is None or stored.data["channel_id"] != channel_id:
                return _error(404, "Unknown Message", 10008)
            if len(rest) == 2 and method == "GET":
                return Reply.json(stored.data)
            if len(rest) == 2 and method == "PATCH":
                self._edit(stored, request)
                return Reply.json(stored.data)
            if len(rest) == 2 and method == "DELETE":
                del self.messages[rest[1]]
                return Reply(204, b"", {})
            if len(rest) == 3 and rest[2] == "threads" and method == "POST":
                return Reply.json(self._open_thread(channel_id, stored, request.json()), 201)
            if len(rest) == 5 and rest[2] == "reactions" and rest[4] == "@me":
                emoji = _unquote(rest[3])
                mine = self.reactions.setdefault(rest[1], [])
                if method == "PUT" and emoji not in mine:
                    mine.append(emoji)
                elif method == "DELETE" and emoji in mine:
                    mine.remove(emoji)
                return Reply(204, b"", {})
        return _error(404, "404: Not Found", 0)

    def _open_thread(self, channel_id: str, message: StoredMessage, body: dict[str, Any]) -> dict[str, Any]:
        thread = {
            "id": message.data["id"],  # Discord gives a thread started from a message the message's id
            "type": 11,
            "guild_id": GUILD_ID,
            "parent_id": channel_id,
            "owner_id": BOT_ID,
            "name": body["name"],
            "member_count": 1,
            "message_count": 0,
            "rate_limit_per_user": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": body.get("auto_archive_duration", 1440),
                "archive_timestamp": "2026-11-24T00:00:00+00:00",
                "locked": False,
            },
        }
        self.channels[thread["id"]] = thread
        return thread

    def _store(
        self,
        channel_id: str,
        content: str,
        payload: dict[str, Any],
        *,
        author: dict[str, Any],
        files: dict[str, bytes] | None = None,
    ) -> dict[str, Any]:
        message = self._message(channel_id, content, author=author)
        message["embeds"] = payload.get("embeds") or []
        message["components"] = payload.get("components") or []
        message["flags"] = int(payload.get("flags") or 0)
        message["allowed_mentions"] = payload.get("allowed_mentions")  # kept for assertions
        message["attachments"] = _attachments(files or {})
        if payload.get("nonce") is not None:
            message["nonce"] = str(payload["nonce"])
        self.messages[message["id"]] = StoredMessage(message, dict(files or {}))
        return message

    def _same_nonce(self, channel_id: str, payload: dict[str, Any]) -> StoredMessage | None:
        """With `enforce_nonce`, Discord checks the nonce against the author's messages of the past few
        minutes."""
        nonce = payload.get("nonce")
        if nonce is None or not payload.get("enforce_nonce"):
            return None
        recent = time.time() - NONCE_SECONDS
        return next(
            (
                m
                for m in self.messages.values()
                if m.data["channel_id"] == channel_id and m.data.get("nonce") == str(nonce) and m.at > recent
            ),
            None,
        )

    def _edit(self, stored: StoredMessage, request: Recorded) -> None:
        payload, files = _message_body(request)
        for key in ("content", "embeds", "components", "allowed_mentions"):
            if key in payload:
                stored.data[key] = payload[key]
        if "attachments" in payload:
            stored.files = files
            stored.data["attachments"] = _attachments(files)
        stored.data["edited_timestamp"] = "2026-11-24T00:00:01+00:00"
        stored.edits += 1

    def _message(self, channel_id: str, content: str, *, author: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.new_id(),
            "channel_id": channel_id,
            "author": author,
            "content": content,
            "timestamp": "2026-11-24T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
        }


def _message_body(request: Recorded) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A message body as JSON, or multipart with `payload_json` and `files[n]` parts."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = request.form_files()
        payload = json.loads(form.pop("payload_json")[1])
        return payload, {filename: data for filename, data in form.values()}
    return (request.json() if request.body else {}), {}


def _attachments(files: dict[str, bytes]) -> list[dict[str, Any]]:
    return [
        {
            "id": str(index),
            "filename": name,
            "size": len(data),
            "url": f"https://cdn.invalid/{name}",
            "proxy_url": f"https://cdn.invalid/{name}",
        }
        for index, (name, data) in enumerate(files.items())
    ]


def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


def _is_multipart(request: Recorded) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")

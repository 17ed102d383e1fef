"""`imagine discord --http`: Discord interactions served at POST /interactions, no gateway needed.

Discord signs each request (Ed25519 over timestamp + body with the app's public key) and expects the
first response in the HTTP answer. discord.py has no server of its own, so requests are verified
here, fed to the client's normal dispatch, and the first response the handlers give is taken from
discord.py's webhook adapter (its documented per-task context variable) and answered in the body.
Everything after the first response (edits, follow-ups) goes through the REST API as usual.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from discord.webhook.async_ import AsyncWebhookAdapter, async_context
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from redis import Redis

from bot.answers_first import AnswersFirst
from bot.discord.client import ImagineClient
from bot.discord.raw import PING, MalformedInteraction, parse_interaction
from shared import keys, messages
from shared.errors import ConfigError

log = logging.getLogger(__name__)
PONG = 1
CHANNEL_MESSAGE = 4
MAX_SKEW_SECONDS = 300  # older (or future) timestamps are replays
FIRST_RESPONSE_SECONDS = 2.8  # Discord waits 3 s for the answer
EPHEMERAL = 64


@dataclass
class _Pending:
    interaction_type: int
    response: asyncio.Future[dict[str, Any]]
    sent: asyncio.Event = field(default_factory=asyncio.Event)


class HttpResponseAdapter(AsyncWebhookAdapter):
    """Turns the first interaction response of an HTTP-delivered interaction into the HTTP answer.

    Once a handler has answered, it waits its turn behind the answers still owed (see AnswersFirst)
    before it goes on with REST calls.
    """

    def __init__(self, answers_first: AnswersFirst) -> None:
        super().__init__()
        self._pending: dict[int, _Pending] = {}
        self._answers_first = answers_first

    def expect(self, interaction_id: int, interaction_type: int) -> _Pending:
        pending = _Pending(interaction_type, asyncio.get_running_loop().create_future())
        self._pending[interaction_id] = pending
        self._answers_first.begin()
        return pending

    def answered(self, interaction_id: int) -> None:
        """The HTTP answer is out (or was given up on)."""
        self._pending.pop(interaction_id, None)
        self._answers_first.end()

    async def create_interaction_response(
        self, interaction_id: int, token: str, *, session, params, **kwargs
    ):  # type: ignore[override]
        pending = self._pending.pop(interaction_id, None)
        if pending is None or params.files:
            return await super().create_interaction_response(
                interaction_id, token, session=session, params=params, **kwargs
            )
        payload = params.payload or {}
        pending.response.set_result(payload)
        await pending.sent.wait()  # later REST calls about this interaction must follow the answer
        await self._answers_first.wait()
        data = payload.get("data") or {}
        return {
            "interaction": {
                "id": str(interaction_id),
                "type": pending.interaction_type,
                "response_message_loading": payload.get("type") == 5,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & EPHEMERAL),
            }
        }


class InteractionsServer:
    """The aiohttp application: POST /interactions and GET /healthz."""

    def __init__(self, client: ImagineClient, public_key: str, redis: Redis) -> None:
        try:
            self._verify_key = VerifyKey(bytes.fromhex(public_key))
        except ValueError:
            raise ConfigError(
                "DISCORD_PUBLIC_KEY is not a 64-character hex key: copy it from the developer portal, "
                "your app → General Information → Public Key"
            ) from None
        self._client = client
        self._redis = redis
        self._adapter = HttpResponseAdapter(AnswersFirst())

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/interactions", self.interactions)
        app.router.add_get("/healthz", self.healthz)
        return app

    def verified(self, request: web.Request, body: bytes) -> bool:
        signature = request.headers.get("X-Signature-Ed25519", "")
        timestamp = request.headers.get("X-Signature-Timestamp", "")
        try:
            if abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
                return False
            self._verify_key.verify(timestamp.encode() + body, bytes.fromhex(signature))
        except (ValueError, BadSignatureError):
            return False
        return True

    async def interactions(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if not self.verified(request, body):
            return web.json_response({"error": "invalid request signature"}, status=401)
        try:
            payload = parse_interaction(body)
        except MalformedInteraction as exc:
            log.warning("discord: a signed request that is no interaction: %s", exc)
            return web.json_response({"error": str(exc)}, status=400)
        if payload["type"] == PING:
            return web.json_response({"type": PONG})
        if self._redis.exists(
            keys.event_claim("discord", str(payload.get("guild_id") or "dm"), str(payload["id"]))
        ):
            return web.json_response({"error": "interaction already handled"}, status=409)  # a redelivery
        async_context.set(self._adapter)  # the handlers' tasks copy this context, and with it the adapter
        interaction_id = int(payload["id"])
        pending = self._adapter.expect(interaction_id, payload["type"])
        try:
            try:
                self._client._connection.parse_interaction_create(payload)  # discord.py's own dispatch
            except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a shape it cannot read
                log.warning("discord: interaction %s could not be parsed: %r", interaction_id, exc)
                return web.json_response({"error": "malformed interaction"}, status=400)
            answer = await asyncio.wait_for(asyncio.shield(pending.response), FIRST_RESPONSE_SECONDS)
        except TimeoutError:
            log.error(
                "discord: no handler answered interaction %s (type %s) in %.1f s; told the member",
                interaction_id,
                payload["type"],
                FIRST_RESPONSE_SECONDS,
            )
            return web.json_response(_ephemeral(messages.internal_error()))
        else:
            response = web.json_response(answer)
            await response.prepare(request)
            await response.write_eof()
            return response
        finally:
            pending.sent.set()
            self._adapter.answered(interaction_id)

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            await asyncio.to_thread(self._redis.ping)
        except Exception as exc:  # any failure means unhealthy; say which part
            return web.json_response({"ok": False, "redis": type(exc).__name__}, status=503)
        return web.json_response({"ok": True, "user": str(self._client.user)})


def _ephemeral(text: str) -> dict[str, Any]:
    """An interaction response only the member sees: a message, mentions off."""
    return {
        "type": CHANNEL_MESSAGE,
        "data": {"content": text, "flags": EPHEMERAL, "allowed_mentions": {"parse": []}},
    }

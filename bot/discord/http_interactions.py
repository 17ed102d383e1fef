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
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import discord
from aiohttp import web
from discord import app_commands
from discord.webhook.async_ import AsyncWebhookAdapter, async_context
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from redis import Redis

from bot.answers_first import AnswersFirst
from bot.discord import ui as discord_ui
from bot.discord.client import ImagineClient
from bot.discord.raw import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    PING,
    MalformedInteraction,
    RawCommand,
    parse_interaction,
    read_guild_command,
)
from bot.discord.surface import AnsweredFirstPort
from bot.discord.ui import ephemeral_response
from shared import keys, messages
from shared.drawing.request import typed_options
from shared.errors import ConfigError
from shared.members.threads import ThreadOrigin

log = logging.getLogger(__name__)
PONG = 1
AUTOCOMPLETE_RESULT = 8
IMAGINE = "imagine"  # the command answered from its raw payload
MAX_SKEW_SECONDS = 300  # older (or future) timestamps are replays
FIRST_RESPONSE_SECONDS = 2.8  # Discord waits 3 s for the answer


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
        self.answers_first = answers_first

    def expect(self, interaction_id: int, interaction_type: int) -> _Pending:
        pending = _Pending(interaction_type, asyncio.get_running_loop().create_future())
        self._pending[interaction_id] = pending
        self.answers_first.begin()
        return pending

    def answered(self, interaction_id: int) -> None:
        """The HTTP answer is out (or was given up on)."""
        self._pending.pop(interaction_id, None)
        self.answers_first.end()

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
        await self.answers_first.wait()
        data = payload.get("data") or {}
        return {
            "interaction": {
                "id": str(interaction_id),
                "type": pending.interaction_type,
                "response_message_loading": payload.get("type") == 5,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & discord_ui.EPHEMERAL),
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
        self._background: set[asyncio.Task[None]] = set()
        imagine = client.tree.get_command(IMAGINE)
        # The options answered first are the typed ones (RequestOptions'); pictures and the like go
        # the whole way through discord.py, which resolves attachments.
        typed = {"prompt", *typed_options()}
        self._imagine_options = (
            {p.name: p.type.value for p in imagine.parameters if p.name in typed}
            if isinstance(imagine, app_commands.Command)
            else {}
        )

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
        if payload["type"] in (APPLICATION_COMMAND, AUTOCOMPLETE):
            fault = self._client.tree.fault_of(payload)
            if fault is not None:  # answered here, before any handler or the quick /imagine path
                log.warning("discord: interaction %s cannot be read: %s", payload["id"], fault)
                if payload["type"] == AUTOCOMPLETE:
                    return web.json_response({"type": AUTOCOMPLETE_RESULT, "data": {"choices": []}})
                return web.json_response(ephemeral_response(messages.unreadable_request(fault)))
        if self._imagine_options and payload["data"].get("name") == IMAGINE:
            command = read_guild_command(payload, self._imagine_options)
            if command is not None:
                return await self._imagine_first(request, payload, command)
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
            return web.json_response(ephemeral_response(messages.internal_error()))
        else:
            return await _answered(request, answer)
        finally:
            pending.sent.set()
            self._adapter.answered(interaction_id)

    async def _imagine_first(
        self, request: web.Request, payload: dict[str, Any], command: RawCommand
    ) -> web.StreamResponse:
        """/imagine answered from its raw payload: the intake runs here up to the ack, which is this
        HTTP answer; the rest (status message, thread, enqueue) runs once the answer has gone, with
        discord.py's Interaction built only then."""
        sent = asyncio.Event()
        answers_first = self._adapter.answers_first
        answers_first.begin()

        async def once_answered(rest: Coroutine[Any, Any, None]) -> None:
            await sent.wait()  # the REST calls about this interaction must follow its answer
            await answers_first.wait()
            await rest

        port = AnsweredFirstPort(
            lambda: discord.Interaction(data=payload, state=self._client._connection),  # type: ignore[arg-type]
            thread=command.channel if command.parent else None,
            origin=ThreadOrigin(
                channel=command.parent or command.channel, owner=command.user, nsfw=command.channel_nsfw
            ),
        )
        try:
            try:
                async with asyncio.timeout(FIRST_RESPONSE_SECONDS):
                    await self._client.frontend.imagine_answered_first(
                        command,
                        str(payload["id"]),
                        port,
                        later=lambda rest: self._in_background(once_answered(rest)),
                    )
            except Exception:  # an answer is owed whatever went wrong; a timeout's slot heals (pending)
                log.exception("discord: /imagine %s failed before its answer", payload["id"])
                return web.json_response(ephemeral_response(messages.internal_error()))
            if port.answer is None:
                return web.json_response({"error": "interaction already handled"}, status=409)
            return await _answered(request, port.answer)
        finally:
            sent.set()
            answers_first.end()

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)  # held until done, so the loop cannot drop it
        task.add_done_callback(self._background.discard)

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            await asyncio.to_thread(self._redis.ping)
        except Exception as exc:  # any failure means unhealthy; say which part
            return web.json_response({"ok": False, "redis": type(exc).__name__}, status=503)
        return web.json_response({"ok": True, "user": str(self._client.user)})


async def _answered(request: web.Request, answer: dict[str, Any]) -> web.StreamResponse:
    """The answer written out before the handler returns, so what follows it comes after it."""
    response = web.json_response(answer)
    await response.prepare(request)
    await response.write_eof()
    return response

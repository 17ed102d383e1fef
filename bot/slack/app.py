"""`imagine slack`: start-up checks that say what to fix, then the bolt app over Socket Mode or HTTP."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import ImagineCore
from bot.followups import PRESS_PATTERN
from bot.interactions import ids
from bot.results import RESULTS_SOCKET_TIMEOUT, ResultConsumer
from bot.slack import forms, pictures, showcase
from bot.slack import ui as slack_ui
from bot.slack.client import authorizer, bolt_logger, web_client
from bot.slack.deliver import SlackPoster
from bot.slack.frontend import SlackFrontend
from bot.slack.raw import MalformedSlackRequest, check_body, decode_body
from bot.slack.surface import PLATFORM
from shared.configuration.settings import Settings
from shared.errors import ConfigError
from shared.ops.redis_conn import connect, connect_async

log = logging.getLogger(__name__)
APPS = "https://api.slack.com/apps"
NO_BOT_TOKEN = f"SLACK_BOT_TOKEN is not set: {APPS} → your app → OAuth & Permissions → Bot User OAuth Token"
BAD_BOT_TOKEN = (
    f"SLACK_BOT_TOKEN was rejected by Slack ({{error}}): copy it again from {APPS} → OAuth & Permissions"
)
NO_SIGNING_SECRET = f"SLACK_SIGNING_SECRET is not set: {APPS} → your app → Basic Information → Signing Secret"
NO_APP_TOKEN = (
    "SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token with connections:write "
    f"({APPS} → your app → Basic Information → App-Level Tokens), or run with --http"
)
BAD_APP_TOKEN = "SLACK_APP_TOKEN must be an app-level token starting with xapp- (not the xoxb- bot token)"
REJECTED_APP_TOKEN = (
    "SLACK_APP_TOKEN was rejected ({error}): make a new app-level token with the "
    f"connections:write scope ({APPS} → your app → Basic Information → App-Level Tokens), "
    "and check Socket Mode is on (Settings → Socket Mode), or run with --http"
)
REQUIRED_SCOPES = (
    "chat:write",
    "commands",
    "files:write",
    "reactions:write",
    "app_mentions:read",
    "channels:history",
)
# Scopes for one feature each: without them the app runs, and says what is missing.
OPTIONAL_SCOPES = {
    "im:history": "prompts in a member's DM with the app (the Messages tab)",
    "users:read": "channel defaults for workspace admins (/imagine settings in a channel)",
    "reactions:read": "⭐ reposts to a showcase channel",
    "files:read": "pictures members share (refining from them, --blend, Describe image)",
}
SHUTDOWN_GRACE_SECONDS = 10
EVENTS_PATH = "/slack/events"
BACKLOG = 1024  # bursts of commands arrive at once; a full accept queue costs a 1 s SYN retry


def run_slack(
    settings: Settings,
    *,
    http: bool,
    host: str,
    port: int,
    say: Callable[[str], None],
    metrics_port: int | None = None,
) -> None:
    """Run until SIGTERM or SIGINT; configuration problems raise ConfigError with the fix."""
    if settings.slack_bot_token is None:
        raise ConfigError(NO_BOT_TOKEN)
    if http and settings.slack_signing_secret is None:
        raise ConfigError(NO_SIGNING_SECRET)
    if not http:
        if settings.slack_app_token is None:
            raise ConfigError(NO_APP_TOKEN)
        if not settings.slack_app_token.get_secret_value().startswith("xapp-"):
            raise ConfigError(BAD_APP_TOKEN)
    asyncio.run(_serve(settings, http=http, host=host, port=port, say=say, metrics_port=metrics_port))


def build_app(settings: Settings, identity: dict | None = None) -> tuple[AsyncApp, SlackFrontend]:
    """The bolt app with every listener, its Web API client pointed at SLACK_API_URL."""
    client = web_client(settings)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = AsyncApp(
        client=client,
        signing_secret=secret,
        request_verification_enabled=secret is not None,
        ignoring_self_events_enabled=True,
        # Listeners only validate, admit and ack, and hand the Web API calls to background tasks, so
        # answering when the listener returns is as quick as it gets (and skips bolt's 10 ms ack polling).
        process_before_response=True,
        authorize=authorizer(identity, client.token or "") if identity else None,
        logger=bolt_logger(),
    )
    team_url = identity.get("url", "") if identity else ""
    frontend = SlackFrontend(
        ImagineCore(settings, connect(settings.redis_url), aredis=connect_async(settings.redis_url)),
        team_url=team_url,
    )

    @app.command("/imagine")
    async def imagine(ack, body, client, respond):
        await frontend.command(ack, body, client, respond)

    # Events are acknowledged when the listener returns, so the work runs after that.
    @app.event("message")
    async def message(event, body, client, context):
        frontend.spawn(frontend.message(event, body, client, context.bot_user_id or ""))

    @app.event("reaction_added")
    async def starred(event, body, client, context):
        frontend.spawn(showcase.starred(frontend.core, event, body, client, context.bot_user_id or ""))

    @app.event("reaction_removed")
    async def unstarred(event, body, client, context):
        frontend.spawn(showcase.unstarred(frontend.core, event, body, client, context.bot_user_id or ""))

    @app.event("app_mention")
    async def mention(event, body, client, context):
        frontend.spawn(frontend.mention(event, body, client, context.bot_user_id or ""))

    @app.event("app_home_opened")
    async def home(event, body, client):
        frontend.spawn(frontend.pages.home(event, body, client))

    # One listener per custom-id family (bot/interactions/ids.py); bolt runs the first that matches.
    @app.action(re.compile(PRESS_PATTERN))
    async def press(ack, body, client):
        await frontend.action(ack, body, client)

    @app.action(re.compile(ids.SUGGESTION.pattern))
    async def suggestion(ack, body, client):
        await frontend.suggestion(ack, body, client)

    @app.action(re.compile(ids.REVEAL.pattern))
    async def reveal(ack, body, client):
        await frontend.reveal(ack, body, client)

    @app.view(pictures.BLEND_MODAL)
    async def blend(ack, body, client):
        await frontend.blend_submitted(ack, body, client)

    @app.shortcut(pictures.DESCRIBE_SHORTCUT)
    async def describe(ack, body, client):
        await frontend.describe_shortcut(ack, body, client)

    @app.view(slack_ui.REFINE_MODAL)
    async def refine(ack, body, client):
        await forms.refine_submitted(frontend, ack, body, client)

    @app.view(slack_ui.REGION_MODAL)
    async def vary_region(ack, body, client):
        await forms.region_submitted(frontend, ack, body, client)

    @app.action(slack_ui.EDITOR_LINK)
    async def editor_link(ack):
        await ack()  # the link opens in the member's browser; Slack tells the app of the press too

    @app.action(slack_ui.SETTINGS_MODAL)
    async def edit_settings(ack, body, client):
        await frontend.pages.edit_settings(ack, body, client)

    @app.view(slack_ui.SETTINGS_MODAL)
    async def settings_saved(ack, body, client):
        await frontend.pages.settings_submitted(ack, body, client)

    @app.action(re.compile(r"^imagine:"))  # last: an id of ours that no family above claims
    async def unknown(ack, body, client):
        await frontend.unknown_action(ack, body, client)

    return app, frontend


async def _serve(
    settings: Settings,
    *,
    http: bool,
    host: str,
    port: int,
    say: Callable[[str], None],
    metrics_port: int | None,
) -> None:
    identity = await _check_bot_token(web_client(settings))
    app, frontend = build_app(settings, identity)
    if metrics_port is not None:
        frontend.core.metrics.serve(metrics_port)
    say(f"connected to Slack team {identity.get('team')} as {identity.get('user')}")
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    if http:
        assert settings.slack_signing_secret is not None
        verifier = SignatureVerifier(settings.slack_signing_secret.get_secret_value())
        runner = web.AppRunner(_web_app(app, frontend, verifier), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(
                runner, host, port, backlog=BACKLOG, reuse_port=True
            ).start()  # N processes, one port
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port"
            ) from None
        say(f"serving Slack events, commands and interactivity at http://{host}:{port}/slack/events")
        frontend.core.metrics.ready.set(1)
        async with _posting_results(settings, app, frontend):
            await stopped.wait()
            await runner.cleanup()  # stop taking requests; running handlers finish first
            await frontend.drain(SHUTDOWN_GRACE_SECONDS)
        return
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    assert settings.slack_app_token is not None
    app_token = settings.slack_app_token.get_secret_value()
    try:  # the socket client would retry a rejected token forever; ask once, so the error is clear
        await app.client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        raise ConfigError(REJECTED_APP_TOKEN.format(error=exc.response.get("error"))) from None
    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()
    say("connected over Socket Mode")
    frontend.core.metrics.ready.set(1)
    async with _posting_results(settings, app, frontend):
        await stopped.wait()
        await handler.close_async()
        await frontend.drain(SHUTDOWN_GRACE_SECONDS)


@asynccontextmanager
async def _posting_results(settings: Settings, app: AsyncApp, frontend: SlackFrontend) -> AsyncIterator[None]:
    """The platform's results posted by this process, once start-up has succeeded; at the end, the
    entry being posted finishes first (or another frontend takes it over)."""
    results = ResultConsumer(
        connect_async(settings.redis_url, socket_timeout=RESULTS_SOCKET_TIMEOUT),
        PLATFORM,
        SlackPoster(app.client, frontend.core.showcase),
        frontend.core,
    )
    task = asyncio.create_task(results.run(), name="slack-results")
    try:
        yield
    finally:
        results.stop()
        try:
            await asyncio.wait_for(task, SHUTDOWN_GRACE_SECONDS)
        except TimeoutError:
            log.warning("slack: stopped posting results mid-entry; another frontend takes it over")


def _web_app(app: AsyncApp, frontend: SlackFrontend, verifier: SignatureVerifier) -> web.Application:
    web_app = app.web_app(path=EVENTS_PATH)
    web_app.middlewares.append(frontend.answers_first.middleware({EVENTS_PATH}))
    web_app.middlewares.append(_readable_bodies(verifier))

    async def healthz(request: web.Request) -> web.Response:
        try:
            await asyncio.to_thread(frontend.core.redis.ping)
        except Exception as exc:  # any failure means unhealthy; say which part
            return web.json_response({"ok": False, "redis": type(exc).__name__}, status=503)
        return web.json_response({"ok": True})

    web_app.router.add_get("/healthz", healthz)
    return web_app


def _readable_bodies(verifier: SignatureVerifier):
    """Signed bodies that bolt could not parse get a 400 with the reason, not aiohttp's 500 page."""

    @web.middleware
    async def check(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        if request.path != EVENTS_PATH or request.method != "POST":
            return await handler(request)
        try:
            text = decode_body(await request.read())  # aiohttp keeps the body for bolt's own read
            if not _signed(verifier, text, request):
                return web.json_response({"error": "invalid request signature"}, status=401)
            check_body(text, request.content_type)
        except MalformedSlackRequest as exc:
            log.warning("slack: a signed request bolt could not read: %s", exc)
            return web.json_response({"error": str(exc)}, status=400)
        return await handler(request)

    return check


def _signed(verifier: SignatureVerifier, text: str, request: web.Request) -> bool:
    try:
        return verifier.is_valid_request(text, request.headers)
    except ValueError:  # a timestamp header that is not a number
        return False


async def _check_bot_token(client: AsyncWebClient) -> dict:
    """auth.test, and the scopes the app needs (Slack lists granted scopes in a response header)."""
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        raise ConfigError(BAD_BOT_TOKEN.format(error=exc.response.get("error"))) from None
    granted = response.headers.get("x-oauth-scopes") or response.headers.get("X-OAuth-Scopes")
    if granted is not None:
        granted_set = {g.strip() for g in granted.split(",")}
        missing = [s for s in REQUIRED_SCOPES if s not in granted_set]
        if missing:
            raise ConfigError(
                f"the Slack app lacks the scopes {', '.join(missing)}: add them under OAuth & Permissions "
                "(or paste slack-manifest.yaml again) and reinstall the app"
            )
        for scope, feature in OPTIONAL_SCOPES.items():
            if scope not in granted_set:
                log.warning(
                    "slack: without the %s scope there are no %s; paste slack-manifest.yaml again "
                    "and reinstall the app to have them",
                    scope,
                    feature,
                )
    return dict(response.data) if isinstance(response.data, dict) else {}

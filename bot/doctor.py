"""`imagine doctor`: check a configuration before anyone waits on it, one line per check, each failure
with what to fix. Most bug reports against chat bots are setup errors; this is the answer to them."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

from shared.configuration.settings import Settings
from shared.drawing.backends import BACKENDS
from shared.ops.checks import TIMEOUT, Check
from shared.ops.redis_conn import safe_url

DISCORD_PORTAL = "https://discord.com/developers/applications"
SLACK_APPS = "https://api.slack.com/apps"
MESSAGE_CONTENT = (1 << 18) | (1 << 19)  # GATEWAY_MESSAGE_CONTENT, ..._LIMITED
__all__ = ["Check", "run_checks"]

Step = Callable[[Settings], Iterator[Check]]


def run_checks(settings: Settings) -> Iterator[Check]:
    # (name, the extra that installs its library, the check): the platforms', then each backend's own
    steps: list[tuple[str, str | None, Step]] = [
        ("config", None, _config),
        ("default backend", None, _default_backend),
        ("redis", None, _redis),
        ("storage", None, _storage),
        ("image check", None, _image_check),
        ("discord", "discord", _discord),
        ("slack", "slack", _slack),
    ]
    steps += [(spec.name, spec.extra, spec.doctor) for spec in BACKENDS.values() if spec.doctor]
    for name, extra, step in steps:
        try:
            yield from step(settings)
        except ModuleNotFoundError as exc:  # a token set for a platform whose extra is not installed
            install = f"pip install 'imagine-bot[{extra or name}]'"
            yield Check(name, False, f"{exc.name} is not installed → {install}")
        except Exception as exc:  # a check that breaks must not hide the others
            yield Check(name, False, f"the check itself failed: {type(exc).__name__}: {exc}")


def _config(settings: Settings) -> Iterator[Check]:
    where = str(settings.config_path) if settings.config_path else "none (IMAGINE_CONFIG unset: defaults)"
    yield Check("config file", True, f"{where} parses")  # load_settings already failed on a bad file


def _default_backend(settings: Settings) -> Iterator[Check]:
    """IMAGINE_BACKEND can serve: what it needs is set (its own check below says whether it works)."""
    name = settings.backend
    spec = BACKENDS[name]
    missing = spec.missing(settings)
    if missing:
        yield Check("default backend", False, f"IMAGINE_BACKEND={name} needs {missing} → set it")
        return
    yield Check("default backend", True, f"{name} ({spec.about})")


def _image_check(settings: Settings) -> Iterator[Check]:
    """Whether generated images are checked before they are posted, and if not, why."""
    moderation = settings.config.moderation
    if moderation.enabled and moderation.check_images and settings.openai_api_key is not None:
        yield Check("image check", True, f"each generated image is checked with {moderation.model}")
    elif not (moderation.enabled and moderation.check_images):
        yield Check(
            "image check", True, "off ([moderation] enabled / check_images): images are posted unchecked"
        )
    elif settings.config.diffusers.safety_checker:
        yield Check(
            "image check",
            True,
            "the diffusers backend's safety checker only ([diffusers] safety_checker); other backends' "
            "images are posted unchecked → set OPENAI_API_KEY to check every image",
        )
    else:
        yield Check(
            "image check",
            True,
            "none: without OPENAI_API_KEY generated images are posted unchecked (the horde backend "
            "withholds what the Horde censors; [diffusers] safety_checker = true for diffusers) → set "
            "OPENAI_API_KEY to check them",
        )


def _storage(settings: Settings) -> Iterator[Check]:
    """The image store: a probe written, read and deleted (a durable store); with Redis, how long a
    thread can refine from its real pixels."""
    from shared.errors import ConfigError
    from shared.imaging.image_store import build_store
    from shared.ops.redis_conn import connect

    storage = settings.config.storage
    ttl_days = storage.image_ttl_seconds / 86400
    kept = f"{ttl_days:g} day{'' if ttl_days == 1 else 's'}"
    if storage.store == "redis":
        threads_days = settings.config.threads.ttl_days
        if threads_days > ttl_days:
            detail = (
                f"images kept {kept} in Redis, threads {threads_days:g} days: refining an older "
                'image redraws it from its words → [storage] store = "directory" or "s3" keeps them'
            )
        else:
            detail = f"images kept {kept} in Redis"
        yield Check("image store", True, detail)
        return
    try:
        redis = connect(settings.redis_url, check=False)
        done = build_store(redis, storage).check()
    except ConfigError as exc:
        yield Check("image store", False, f"{exc} → fix [storage] (and, for s3, the AWS_* credentials)")
        return
    yield Check("image store", True, f"{done}; images kept {kept}")


def _redis(settings: Settings) -> Iterator[Check]:
    from bot.embedded import LocalRedis, is_local, using_line
    from shared.errors import ImagineError
    from shared.ops.redis_conn import connect

    try:
        connect(settings.redis_url).ping()
        if is_local(settings):
            yield Check("redis", True, using_line(LocalRedis.of_this_user()))
        else:
            yield Check("redis", True, f"{safe_url(settings.redis_url)} answers")
    except ImagineError as exc:
        if settings.redis_url_explicit:
            yield Check("redis", False, f"{exc} → start it, or fix REDIS_URL")
        else:
            yield Check(
                "redis",
                True,
                "REDIS_URL unset and none on localhost:6379: every imagine command starts this "
                f"machine's own ({LocalRedis.of_this_user().socket}), which only this machine reaches "
                "→ set REDIS_URL to share one between machines",
            )
    server = shutil.which("redis-server")
    yield Check(
        "redis-server",
        server is not None,
        f"found at {server} (for this machine's own Redis, the embedded default)"
        if server
        else "not installed → `apt-get install -y redis-server`, or set REDIS_URL to a Redis you run",
    )


def _discord(settings: Settings) -> Iterator[Check]:
    if settings.discord_token is None:
        return
    base = settings.discord_api_base.rstrip("/")
    token = settings.discord_token.get_secret_value()
    status, me = _get_json(f"{base}/users/@me", {"Authorization": f"Bot {token}"})
    if status != 200:
        yield Check(
            "discord token", False, f"rejected ({status}) → {DISCORD_PORTAL} → your app → Bot → Reset Token"
        )
        return
    yield Check("discord token", True, f"accepted: bot {me.get('username')} ({me.get('id')})")
    _, app = _get_json(f"{base}/oauth2/applications/@me", {"Authorization": f"Bot {token}"})
    intent = bool(int(app.get("flags") or 0) & MESSAGE_CONTENT)
    yield Check(
        "discord message-content intent",
        intent,
        "on: thread replies can be read"
        if intent
        else f"off → {DISCORD_PORTAL} → your app → Bot → Privileged Gateway Intents → Message Content Intent",
    )
    if settings.discord_public_key:
        valid = len(settings.discord_public_key) == 64 and _is_hex(settings.discord_public_key)
        yield Check(
            "discord public key",
            valid,
            "a 64-character hex key (for --http)"
            if valid
            else "not a 64-character hex key → General Information",
        )


def _slack(settings: Settings) -> Iterator[Check]:
    if settings.slack_bot_token is None:
        return
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    from bot.slack.app import OPTIONAL_SCOPES, REQUIRED_SCOPES

    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url, timeout=TIMEOUT
    )
    try:
        response = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error")
        yield Check("slack bot token", False, f"rejected ({error}) → {SLACK_APPS} → OAuth & Permissions")
        return
    yield Check("slack bot token", True, f"accepted: {response.get('user')} in team {response.get('team')}")
    granted = {s.strip() for s in (response.headers.get("x-oauth-scopes") or "").split(",") if s.strip()}
    missing = [scope for scope in REQUIRED_SCOPES if scope not in granted]
    yield Check(
        "slack scopes",
        not missing,
        "all granted"
        if not missing
        else f"missing {', '.join(missing)} → paste slack-manifest.yaml and reinstall",
    )
    for scope, feature in OPTIONAL_SCOPES.items():
        if scope not in granted:
            yield Check(
                f"slack {scope}",
                True,
                f"not granted: no {feature} → paste slack-manifest.yaml and reinstall to have them",
            )
    yield Check(
        "slack events",
        True,
        "not visible to a bot token: slack-manifest.yaml subscribes app_mention, app_home_opened, "
        "message.channels, message.groups and message.im",
    )
    if settings.slack_app_token is not None:
        app_token = settings.slack_app_token.get_secret_value()
        if not app_token.startswith("xapp-"):
            yield Check(
                "slack app token", False, "must start with xapp- (an app-level token, not the bot token)"
            )
            return
        try:
            client.apps_connections_open(app_token=app_token)
            yield Check("slack app token", True, "accepted: Socket Mode can connect")
        except SlackApiError as exc:
            yield Check(
                "slack app token", False, f"rejected ({exc.response.get('error')}) → App-Level Tokens"
            )


def _get_json(url: str, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"User-Agent": "imagine-doctor", **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {}
    except OSError as error:
        return 0, {"error": str(error)}


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True

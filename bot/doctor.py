"""`imagine doctor`: check a configuration before anyone waits on it, one line per check, each failure
with what to fix. Most bug reports against chat bots are setup errors; this is the answer to them."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module

from shared.configuration.settings import Settings
from shared.drawing.backends import BACKENDS
from shared.ops.redis_conn import safe_url
from shared.textmodels.openai_client import openai_client

DISCORD_PORTAL = "https://discord.com/developers/applications"
SLACK_APPS = "https://api.slack.com/apps"
MESSAGE_CONTENT = (1 << 18) | (1 << 19)  # GATEWAY_MESSAGE_CONTENT, ..._LIMITED
TIMEOUT = 10


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.name}: {self.detail}"


def run_checks(settings: Settings) -> Iterator[Check]:
    steps: list[Callable[[Settings], Iterator[Check]]] = [
        _config,
        _default_backend,
        _redis,
        _storage,
        _image_check,
        _discord,
        _slack,
    ]
    steps += [_backend_check(spec.doctor) for spec in BACKENDS.values() if spec.doctor]
    for step in steps:
        name = step.__name__.strip("_").removeprefix("check_")
        try:
            yield from step(settings)
        except ModuleNotFoundError as exc:  # a token set for a platform whose extra is not installed
            yield Check(name, False, f"{exc.name} is not installed → pip install 'imagine-bot[{name}]'")
        except Exception as exc:  # a check that breaks must not hide the others
            yield Check(name, False, f"the check itself failed: {type(exc).__name__}: {exc}")


def _backend_check(path: str) -> Callable[[Settings], Iterator[Check]]:
    """A backend's doctor check, named in shared/backends.py."""
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


def _config(settings: Settings) -> Iterator[Check]:
    where = str(settings.config_path) if settings.config_path else "none (IMAGINE_CONFIG unset: defaults)"
    yield Check("config file", True, f"{where} parses")  # load_settings already failed on a bad file


def _default_backend(settings: Settings) -> Iterator[Check]:
    """IMAGINE_BACKEND can serve: what it needs is set (its own check below says whether it works)."""
    name = settings.backend
    needs = {
        "openai": (
            "OPENAI_API_KEY",
            settings.openai_api_key is not None or settings.openai_base_url is not None,
        ),
        "diffusers": (
            "[diffusers.models] or IMAGINE_DIFFUSERS_MODEL",
            bool(settings.config.diffusers.models) or settings.diffusers_model is not None,
        ),
    }
    if name in needs and not needs[name][1]:
        yield Check("default backend", False, f"IMAGINE_BACKEND={name} needs {needs[name][0]} → set it")
        return
    note = " (draws a labelled test picture, no model)" if name == "placeholder" else ""
    yield Check("default backend", True, f"{name}{note}")


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


def check_openai(settings: Settings) -> Iterator[Check]:
    if settings.openai_api_key is None:
        return
    import openai

    client = openai_client(settings, timeout=TIMEOUT, max_retries=0)
    try:
        models = {model.id for model in client.models.list()}
    except openai.AuthenticationError:
        yield Check("openai key", False, "rejected → create a key at https://platform.openai.com/api-keys")
        return
    except openai.APIError as exc:
        yield Check(
            "openai key", False, f"the API did not answer ({type(exc).__name__}) → check OPENAI_BASE_URL"
        )
        return
    yield Check("openai key", True, f"accepted ({len(models)} models visible)")
    wanted = {
        "image model": settings.config.openai.default_model,
        "text model": settings.text_model,
        "vision model (/describe)": settings.vision_model,
    }
    for what, model in wanted.items():
        if model:
            yield Check(
                f"openai {what}",
                model in models,
                f"{model} is available"
                if model in models
                else f"{model} is not offered to this key → pick another",
            )


def check_a1111(settings: Settings) -> Iterator[Check]:
    """Each server of [a1111] reachable with --api and the credentials, what it offers, and whether the
    configured checkpoints and sampler exist there. Only when the a1111 backend is in use."""
    if settings.backend != "a1111" and "a1111" not in settings.config.model_fields_set:
        return
    from shared.errors import ConfigError
    from workers.backends.a1111 import A1111Client

    config = settings.config.a1111
    client = A1111Client(settings)
    for server in config.servers:
        name = f"a1111 {server}"
        try:
            models = client.get(server, "sd-models")
            samplers = [s.get("name", "") for s in client.get(server, "samplers")]
            loras = client.get(server, "loras")
            options = client.get(server, "options")
            loaded = options.get("sd_model_checkpoint")
            flavour = "Forge" if any(key.startswith("forge_") for key in options) else "web UI"
        except ConfigError as exc:
            yield Check(name, False, str(exc))
            continue
        titles = [m.get("title", "") for m in models]
        known = set(titles) | {m.get("model_name", "") for m in models}
        wanted = [*config.models, *([config.default_model] if config.default_model else [])]
        missing = [m for m in wanted if m not in known]
        if missing:
            yield Check(
                name, False, f"[a1111] models {', '.join(missing)} not there → it has: {', '.join(titles)}"
            )
        elif config.sampler and config.sampler not in samplers:
            yield Check(
                name, False, f"[a1111] sampler {config.sampler!r} not there → it has: {', '.join(samplers)}"
            )
        else:
            yield Check(
                name,
                True,
                f"{flavour} --api answers: {len(titles)} checkpoints (loaded: {loaded}), "
                f"{len(samplers)} samplers, {len(loras)} LoRAs",
            )


def check_comfyui(settings: Settings) -> Iterator[Check]:
    """Each workflow parses, and where each slot landed in it (found or set); each server answers, has
    the checkpoints members may pick, and lists its LoRAs. Only when the comfyui backend is in use."""
    if settings.backend != "comfyui" and "comfyui" not in settings.config.model_fields_set:
        return
    from shared.errors import ConfigError
    from workers.backends.comfyui import ComfyClient, load_workflow
    from workers.backends.comfyui_slots import find_slots

    config = settings.config.comfyui
    for name, spec in config.workflows.items():
        try:
            graph = load_workflow(name, spec)
            slots = find_slots(graph, spec, f"[comfyui.workflows.{name}]")
        except ConfigError as exc:
            yield Check(f"comfyui workflow {name}", False, str(exc))
            continue
        # A checkpoint the walk could not place matters once members may pick checkpoints.
        pickable = [m for m in config.models if m not in config.workflows]
        blocked = "checkpoint" in slots.unclear and bool(pickable) and name == config.workflow
        summary = f"{len(graph)} nodes" + "".join(f"\n    {line}" for line in slots.lines())
        yield Check(f"comfyui workflow {name}", not blocked, summary)
    client = ComfyClient(config)
    for server in config.servers:
        try:
            checkpoints = _choices(client.object_info(server, "CheckpointLoaderSimple"), "ckpt_name")
            unets = _choices(client.object_info(server, "UNETLoader"), "unet_name")
            loras = _choices(client.object_info(server, "LoraLoader"), "lora_name")
        except ConfigError as exc:
            yield Check(f"comfyui {server}", False, str(exc))
            continue
        wanted = [*config.models, *([config.default_model] if config.default_model else [])]
        missing = [m for m in wanted if m not in config.workflows and m not in {*checkpoints, *unets}]
        if missing:
            yield Check(
                f"comfyui {server}",
                False,
                f"[comfyui] models {', '.join(missing)} not there → it has: {', '.join(checkpoints + unets)}",
            )
        else:
            models = f"{len(checkpoints)} checkpoints, {len(unets)} diffusion models, {len(loras)} LoRAs"
            yield Check(f"comfyui {server}", True, f"answers: {models}")


def _choices(node_info: dict, name: str) -> list[str]:
    """The values a node's list input accepts, from /object_info."""
    spec = (node_info.get("input") or {}).get("required", {}).get(name) or [[]]
    return [str(v) for v in spec[0]] if isinstance(spec[0], list) else []


def check_horde(settings: Settings) -> Iterator[Check]:
    """The Horde answers; the key (or anonymous use) and its kudos; the configured models have workers.
    Only when the horde backend is in use."""
    if settings.backend != "horde" and "horde" not in settings.config.model_fields_set:
        return
    from shared.errors import ImagineError
    from workers.backends.horde import HordeClient

    config = settings.config.horde
    client = HordeClient(settings)
    try:
        served = {m.get("name", ""): int(m.get("count") or 0) for m in client.models()}
    except ImagineError as exc:
        yield Check("horde", False, f"{exc} → check [horde] api_url")
        return
    if settings.horde_api_key is None:
        yield Check("horde key", True, "anonymous (slowest queue) → set HORDE_API_KEY for kudos priority")
    else:
        try:
            user = client.user()
        except ImagineError as exc:
            yield Check("horde key", False, f"{exc} → register at https://aihorde.net/register")
        else:
            yield Check(
                "horde key", True, f"{user.get('username')}: {float(user.get('kudos') or 0):.0f} kudos"
            )
    if not config.contact:
        yield Check(
            "horde contact", False, "[horde] contact is empty → the Horde asks for a way to reach you"
        )
    wanted = [*config.models, *([config.default_model] if config.default_model else [])]
    idle = [m for m in wanted if served.get(m, 0) == 0]
    yield Check(
        "horde models",
        not idle,
        f"no worker serves {', '.join(idle)} now" if idle else f"{len(served)} models served by workers now",
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

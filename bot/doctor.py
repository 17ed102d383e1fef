"""`imagine doctor`: check a configuration before anyone waits on it, one line per check, each failure
with what to fix. Most bug reports against chat bots are setup errors; this is the answer to them."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

from bot.platforms import platforms
from shared.configuration.settings import Settings
from shared.drawing.backends import BACKENDS
from shared.ops.checks import Check
from shared.ops.redis_conn import safe_url

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
    ]
    steps += [(p.name, p.extra, p.doctor) for p in platforms() if p.doctor]
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
    secrets = "".join(
        f"; {variable} {'set' if settings.is_set(variable) else 'unset'}" for variable in spec.secrets
    )
    yield Check("default backend", True, f"{name} ({spec.about}{secrets})")


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
    from shared.ops.redis_conn import connect, sentinels

    try:
        view = sentinels(settings.redis_url)
    except ImagineError as exc:
        yield Check("redis", False, f"{exc} → fix REDIS_URL")
        return
    if view is not None:
        yield Check("redis sentinels", view.master is not None, view.line())
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

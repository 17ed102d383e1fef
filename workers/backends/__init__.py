"""Image backends, built by name from the registry (shared/drawing/backends.py); each library is imported
only when chosen. Each backend is a package here: its spec in `__init__`, its code in `backend.py`."""

from __future__ import annotations

from redis import Redis

from shared.configuration.settings import Settings
from shared.drawing.backends import BACKENDS
from shared.errors import ConfigError
from shared.jobs.queue import lane
from workers.backends.base import GeneratedImage, Generation, GenerationTask, ImageBackend

__all__ = ["GeneratedImage", "Generation", "GenerationTask", "ImageBackend", "build_backend"]


def build_backend(
    name: str, settings: Settings, *, models: list[str] | None = None, redis: Redis | None = None
) -> ImageBackend:
    """The backend a worker loads once for its whole life (its library is imported only here).
    `models`: the ones this worker serves, for a backend with a queue per model."""
    spec = BACKENDS.get(name)
    if spec is None:
        raise ConfigError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
    if models and not spec.queue_per_model:
        raise ConfigError(f"--models is for the diffusers backend; the {name} backend serves one queue")
    try:
        backend_class = spec.load()
    except ImportError as exc:
        if spec.extra is None:
            raise
        raise ConfigError(
            f"the {name} backend needs the {spec.extra} extra ({exc.name} is missing): "
            f"pip install 'imagine-bot[{spec.extra}]'"
        ) from None
    if spec.queue_per_model:
        return backend_class(settings, models=models, cache=redis)
    return backend_class(settings)


def served_lanes(name: str, settings: Settings, models: list[str] | None) -> list[str]:
    """The lanes (shared/queue.py) a worker of `name` takes jobs from: one per served model where
    models are configured, else the backend's own."""
    spec = BACKENDS[name]
    configured = spec.models(settings.config) if spec.queue_per_model else []
    if not configured:
        return [name]
    return [lane(name, model) for model in (models or [spec.default_model(settings.config) or configured[0]])]

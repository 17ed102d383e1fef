"""Image backends, built by name from shared/backends.py; each library is imported only when chosen."""

from __future__ import annotations

from shared.backends import BACKENDS
from shared.errors import ConfigError
from shared.settings import Settings
from workers.backends.base import GeneratedImage, Generation, GenerationTask, ImageBackend

__all__ = ["GeneratedImage", "Generation", "GenerationTask", "ImageBackend", "build_backend"]


def build_backend(name: str, settings: Settings) -> ImageBackend:
    """The backend a worker loads once for its whole life (its library is imported only here)."""
    spec = BACKENDS.get(name)
    if spec is None:
        raise ConfigError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
    try:
        backend_class = spec.load()
    except ImportError as exc:
        if spec.extra is None:
            raise
        raise ConfigError(
            f"the {name} backend needs the {spec.extra} extra ({exc.name} is missing): "
            f"pip install 'imagine-bot[{spec.extra}]'"
        ) from None
    return backend_class(settings)

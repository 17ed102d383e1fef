"""Image backends, built by name; each heavy library is imported only when its backend is chosen."""

from __future__ import annotations

from shared.errors import ConfigError
from shared.settings import Settings
from workers.backends.base import GeneratedImage, Generation, GenerationTask, ImageBackend

__all__ = ["GeneratedImage", "Generation", "GenerationTask", "ImageBackend", "build_backend"]


def build_backend(name: str, settings: Settings) -> ImageBackend:
    """The backend a worker loads once for its whole life."""
    if name == "placeholder":
        from workers.backends.placeholder import PlaceholderBackend

        return PlaceholderBackend(delay=settings.placeholder_delay)
    if name == "openai":
        from workers.backends.openai import OpenAIBackend

        return OpenAIBackend(settings)
    if name == "diffusers":
        try:
            from workers.backends.diffusers import DiffusersBackend
        except ImportError as exc:
            raise ConfigError(
                f"the diffusers backend needs the gpu extra ({exc.name} is missing): "
                "pip install 'imagine-bot[gpu]'"
            ) from None
        return DiffusersBackend(settings)
    raise ConfigError(f"unknown backend {name!r}")

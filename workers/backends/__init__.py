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
    raise ConfigError(f"backend {name!r} is not available in this build; use --backend placeholder")

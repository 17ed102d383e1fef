"""What members may pick, as each platform offers it: the models and LoRAs of a backend with their
descriptions, those marked NSFW only where the channel is."""

from __future__ import annotations

from shared.configuration.config import AppConfig
from shared.drawing.backends import BACKENDS

LABEL_MAX = 100  # Discord's limit on a choice's name


def _label(name: str, description: str) -> str:
    return f"{name} — {description}"[:LABEL_MAX] if description else name


def offered_models(config: AppConfig, backend: str, *, nsfw: bool) -> list[tuple[str, str]]:
    """(name, label) of the models members may pick for `backend` in a channel of this NSFW-ness."""
    spec = BACKENDS.get(backend)
    if spec is None:
        return []
    described = spec.model_details(config)
    return [
        (name, _label(name, described[name].description if name in described else ""))
        for name in spec.models(config)
        if nsfw or name not in described or not getattr(described[name], "nsfw", False)
    ]


def offered_loras(config: AppConfig, *, nsfw: bool) -> list[tuple[str, str]]:
    """(name, label) of the LoRAs members may add, in a channel of this NSFW-ness."""
    return [
        (name, _label(name, lora.description))
        for name, lora in config.diffusers.loras.items()
        if nsfw or not lora.nsfw
    ]

"""The diffusers backend: the operator's own checkpoints and LoRAs on their GPU. Its spec; the pipelines
are in backend.py (torch and diffusers are imported there, on a worker only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.drawing.backends import BackendSpec, Capabilities
from workers.backends.diffusers.config import DiffusersConfig
from workers.backends.diffusers.doctor import check

if TYPE_CHECKING:
    from shared.configuration.settings import Settings


def _backend() -> type:
    from workers.backends.diffusers.backend import DiffusersBackend

    return DiffusersBackend


def _missing(settings: Settings) -> str | None:
    served = settings.config.diffusers.models or settings.diffusers_model
    return None if served else "[diffusers.models] or IMAGINE_DIFFUSERS_MODEL"


SPEC = BackendSpec(
    "diffusers",
    "the operator's checkpoints on this GPU",
    _backend,
    config=DiffusersConfig,
    missing=_missing,
    doctor=check,
    extra="gpu",
    models=lambda config: list(config.diffusers.models),
    default_model=lambda config: config.diffusers.default_model or next(iter(config.diffusers.models), None),
    model_details=lambda config: config.diffusers.models,
    timeout_seconds=900,
    capabilities=Capabilities(
        model_choice=True,
        loras=True,
        outpaint=True,
        inpaint=True,
        hires=True,
        references=True,
        control=True,
    ),
    setup={
        "references": ("[diffusers.ip_adapter]", lambda config: config.diffusers.ip_adapter is not None),
        "control": ("[diffusers.controlnet]", lambda config: bool(config.diffusers.controlnet)),
    },
    loras=lambda config: list(config.diffusers.loras),
    queue_per_model=True,
    rank=2,
)

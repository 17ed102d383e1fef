"""Every image backend, declared once: its name, where its code lives, the extra its library needs,
the models members may pick, its size rule and its `imagine doctor` check.

Workers build a backend from its `factory` (imported there alone, so frontends never load torch or
a vendor SDK); request validation, the command line, health, metrics, the slash command, follow-ups
and doctor read the same table. Adding a backend is its module in workers/backends/ and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import import_module
from typing import Any

from shared.configuration.config import AppConfig
from shared.drawing import prompt_tags, sizes


def _no_models(config: AppConfig) -> list[str]:
    return []


def _any_size(model: str, width: int, height: int, aspect: str | None) -> None:
    """Self-hosted models draw the size asked (within the request's own limits)."""


@dataclass(frozen=True)
class Capabilities:
    """What a backend honours. A result button it cannot honour is not shown (bot/followups.py:
    `Action.needs`), and a typed option it cannot honour is refused naming the backend
    (shared/request.py); the worker reads the same flags."""

    edit: bool = True  # draws from a picture: a member's own, or a result's for a variation or upscale
    seed: bool = True  # a chosen seed reproduces an image
    several_images: bool = False  # takes a blend's pictures as they are (else they are averaged into one)
    stop: bool = True  # a job being drawn stops when its member cancels (OpenAI's API cannot)


@dataclass(frozen=True)
class BackendSpec:
    name: str
    factory: str  # "module:Class", built once per worker process as Class(settings)
    extra: str | None = None  # the pip extra its library needs
    models: Callable[[AppConfig], list[str]] = _no_models  # what members may pick; [] = the backend's own
    default_model: Callable[[AppConfig], str | None] = lambda config: None
    check_size: Callable[[str, int, int, str | None], Any] = _any_size  # raises InvalidRequest
    fixed_sizes: bool = False  # a few sizes only: an upscale asks for the best quality instead
    pickable_models: bool = False  # members choose among `models` (a follow-up keeps their choice)
    doctor: str | None = None  # "module:function": settings -> the check's lines
    timeout_seconds: int = 300  # a job's default time limit on a worker
    capabilities: Capabilities = Capabilities()
    loras: Callable[[AppConfig], list[str]] = _no_models  # LoRAs members may add
    queue_per_model: bool = False  # a queue per model, so a worker serves only the models it loaded
    check_prompt: Callable[[AppConfig, str], None] = lambda config, text: None  # raises InvalidRequest

    def load(self) -> type:
        module, _, name = self.factory.partition(":")
        return getattr(import_module(module), name)


def _image_server(name: str, factory: str) -> BackendSpec:
    """A backend in front of servers members already run: its `[name]` section lists the models
    members may pick (the first is the default unless `default_model` says), and `bot/doctor.py`
    checks it as `check_<name>`."""

    def section(config: AppConfig) -> Any:
        return getattr(config, name)

    return BackendSpec(
        name,
        factory,
        models=lambda config: section(config).models,
        default_model=lambda config: (
            section(config).default_model or next(iter(section(config).models), None)
        ),
        pickable_models=True,
        doctor=f"bot.doctor:check_{name}",
        timeout_seconds=900,
    )


BACKENDS: dict[str, BackendSpec] = {
    spec.name: spec
    for spec in (
        BackendSpec("placeholder", "workers.backends.placeholder:PlaceholderBackend", timeout_seconds=120),
        BackendSpec(
            "openai",
            "workers.backends.openai:OpenAIBackend",
            models=lambda config: config.openai.models,
            default_model=lambda config: config.openai.default_model,
            check_size=sizes.openai_size,
            fixed_sizes=True,
            pickable_models=True,
            doctor="bot.doctor:check_openai",
            # GPT image models choose their own seed; the edits endpoint takes up to 16 input images.
            capabilities=Capabilities(seed=False, several_images=True, stop=False),
        ),
        BackendSpec(
            "diffusers",
            "workers.backends.diffusers:DiffusersBackend",
            extra="gpu",
            models=lambda config: list(config.diffusers.models),
            default_model=lambda config: (
                config.diffusers.default_model or next(iter(config.diffusers.models), None)
            ),
            pickable_models=True,
            doctor="bot.doctor_diffusers:check_diffusers",
            timeout_seconds=900,
            loras=lambda config: list(config.diffusers.loras),
            queue_per_model=True,
        ),
        replace(
            _image_server("a1111", "workers.backends.a1111:A1111Backend"),
            check_prompt=prompt_tags.check_a1111,
        ),
        _image_server("comfyui", "workers.backends.comfyui:ComfyUIBackend"),
        _image_server("horde", "workers.backends.horde:HordeBackend"),
    )
}
BACKEND_NAMES = tuple(BACKENDS)

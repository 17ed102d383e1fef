"""The openai backend: OpenAI's GPT image models. Its spec; the client calls are in backend.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.drawing import sizes
from shared.drawing.backends import BackendSpec, Capabilities
from workers.backends.openai.config import OpenAIConfig
from workers.backends.openai.doctor import check

if TYPE_CHECKING:
    from shared.configuration.settings import Settings


def _backend() -> type:
    from workers.backends.openai.backend import OpenAIBackend

    return OpenAIBackend


def _missing(settings: Settings) -> str | None:
    return None if settings.openai_api_key or settings.openai_base_url else "OPENAI_API_KEY"


SPEC = BackendSpec(
    "openai",
    "OpenAI's image models",
    _backend,
    config=OpenAIConfig,
    secrets=("OPENAI_API_KEY",),
    missing=_missing,
    doctor=check,
    models=lambda config: config.openai.models,
    default_model=lambda config: config.openai.default_model,
    check_size=sizes.openai_size,
    fixed_sizes=True,
    # GPT image models choose their own seed; the edits endpoint takes up to 16 input images.
    capabilities=Capabilities(
        seed=False,
        several_images=True,
        stop=False,
        model_choice=True,
        outpaint=True,
        inpaint=True,
        references=True,
    ),
    rank=1,
)

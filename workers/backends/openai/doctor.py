"""`imagine doctor` for the openai backend: the key is accepted and the models are offered to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from shared.ops.checks import TIMEOUT, Check
from shared.textmodels.openai_client import openai_client

if TYPE_CHECKING:
    from shared.configuration.settings import Settings


def check(settings: Settings) -> Iterator[Check]:
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

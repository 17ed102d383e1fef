"""The one way this project makes an OpenAI client: from the settings alone, never from the environment.

Left unset, the openai library reads OPENAI_BASE_URL itself, and compose passes `OPENAI_BASE_URL=` from
.env.example as an empty string, which the library takes for a base URL. So the URL is always given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.configuration.settings import Settings

if TYPE_CHECKING:
    import openai

DEFAULT_BASE_URL = "https://api.openai.com/v1"
ANY_KEY = "not-needed"  # local OpenAI-compatible servers often take any key


def openai_client(settings: Settings, *, max_retries: int, timeout: float | None = None) -> openai.OpenAI:
    """A client for OPENAI_BASE_URL (or OpenAI's API) with OPENAI_API_KEY (or any key, for a local
    server that needs none); imported here, so processes that never call it never load it."""
    import openai

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ANY_KEY
    extra = {} if timeout is None else {"timeout": timeout}
    return openai.OpenAI(
        api_key=key, base_url=settings.openai_base_url or DEFAULT_BASE_URL, max_retries=max_retries, **extra
    )

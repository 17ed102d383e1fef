"""Every generated image checked before it is posted, with OpenAI's moderation model (which takes one
image per request and scores sexual, violence, violence/graphic and self-harm on images) under the
workspace's policy: the NSFW-channel rule applies to images as to words. Without an OpenAI key there
is no check here; the diffusers safety checker and the Horde's censorship are the backends' own."""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass

from PIL import Image

from shared.configuration.config import ModerationConfig
from shared.configuration.settings import Settings
from shared.drawing.request import ImageRequest
from shared.textmodels.openai_client import openai_client

log = logging.getLogger(__name__)
SENT_EDGE = 512  # what the moderation model needs to judge an image; a smaller upload


@dataclass(frozen=True)
class Verdict:
    """Per image, the category that withholds it (None: it may be posted)."""

    withheld: list[str | None]

    @property
    def count(self) -> int:
        return sum(1 for rule in self.withheld if rule is not None)


class ImageChecker:
    def __init__(self, settings: Settings) -> None:
        self._config: ModerationConfig = settings.config.moderation
        self._client = None
        if self._config.enabled and self._config.check_images and settings.openai_api_key is not None:
            self._client = openai_client(settings, timeout=self._config.timeout_seconds, max_retries=2)

    @property
    def active(self) -> bool:
        return self._client is not None

    def check(self, request: ImageRequest, images: list[Image.Image]) -> Verdict:
        if self._client is None:
            return Verdict([None] * len(images))
        policy = self._config.policy_for(request.requester.workspace_key)
        blocked = set(policy.block or []) - {"sexual/minors"}  # a text-only category, checked on the words
        if request.requester.channel_nsfw and policy.nsfw == "nsfw_channels":
            blocked.discard("sexual")
        return Verdict([self._one(image, blocked, policy.on_error) for image in images])

    def _one(self, image: Image.Image, blocked: set[str], on_error: str) -> str | None:
        import openai

        part = {"type": "image_url", "image_url": {"url": _data_url(image)}}
        try:
            response = self._client.moderations.create(model=self._config.model, input=[part])  # type: ignore[union-attr]
        except openai.APIError as exc:
            log.warning("image moderation unavailable (%s): failing %s", type(exc).__name__, on_error)
            return "unavailable" if on_error == "closed" else None
        flagged = {
            name for name, hit in response.results[0].categories.model_dump(by_alias=True).items() if hit
        }
        hits = sorted(flagged & blocked)
        return hits[0] if hits else None


def _data_url(image: Image.Image) -> str:
    small = image.convert("RGB")
    small.thumbnail((SENT_EDGE, SENT_EDGE))
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

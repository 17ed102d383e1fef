"""Moderation before a job is queued: a local block-list always, the OpenAI moderation endpoint when a
key is set, under the workspace's policy. A refusal names the rule, never the flagged text."""

from __future__ import annotations

import logging
import re

from shared import messages
from shared.configuration.config import ModerationPolicy
from shared.configuration.settings import Settings
from shared.drawing.request import ImageRequest
from shared.errors import Refused
from shared.textmodels.openai_client import openai_client

log = logging.getLogger(__name__)


class Moderator:
    def __init__(self, settings: Settings) -> None:
        self._config = settings.config.moderation
        self._client = None
        if self._config.enabled and settings.openai_api_key is not None:
            self._client = openai_client(settings, timeout=self._config.timeout_seconds, max_retries=1)

    @property
    def uses_service(self) -> bool:
        return self._client is not None

    def check(self, request: ImageRequest) -> None:
        """Raise Refused when the request's words (prompt, refinement, negative) break the policy."""
        policy = self._config.policy_for(request.requester.workspace_key)
        texts = [t for t in (request.prompt, request.instruction, request.negative) if t]
        _check_blocklist(texts, policy)
        if self._client is not None:
            self._check_service(texts, policy, nsfw_channel=request.requester.channel_nsfw)

    def _check_service(self, texts: list[str], policy: ModerationPolicy, *, nsfw_channel: bool) -> None:
        import openai

        try:
            response = self._client.moderations.create(model=self._config.model, input=texts)  # type: ignore[union-attr]
        except openai.APIError as exc:
            log.warning("moderation unavailable (%s): failing %s", type(exc).__name__, policy.on_error)
            if policy.on_error == "closed":
                raise Refused(messages.moderation_unavailable(), rule="moderation:unavailable") from None
            return
        flagged: set[str] = set()
        for result in response.results:
            flagged |= {name for name, hit in result.categories.model_dump(by_alias=True).items() if hit}
        blocked = flagged & set(policy.block or [])
        if nsfw_channel and policy.nsfw == "nsfw_channels":
            blocked.discard(
                "sexual"
            )  # adult content where the platform marks the channel for it; never minors
        if blocked:
            category = sorted(blocked)[0]
            raise Refused(messages.moderation_refused(category), rule=f"moderation:{category}")


def _check_blocklist(texts: list[str], policy: ModerationPolicy) -> None:
    for phrase in policy.blocklist or []:
        pattern = re.compile(rf"(?<!\w){re.escape(phrase.strip())}(?!\w)", re.IGNORECASE)
        if phrase.strip() and any(pattern.search(text) for text in texts):
            raise Refused(messages.moderation_blocklist(), rule="moderation:blocklist")

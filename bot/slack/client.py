"""The Slack Web API client the app speaks through (SLACK_API_URL, rate limits retried), bolt's
`authorize` from the start-up identity, and bolt's logger without its notes about tokens."""

from __future__ import annotations

import logging

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped, warning_token_skipped
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from shared.configuration.settings import Settings


def authorizer(identity: dict, token: str):
    """Bolt's `authorize` hook from the start-up auth.test, so bolt need not ask Slack per request
    (bolt passes a hook only the arguments it names: none here)."""
    result = AuthorizeResult(
        enterprise_id=identity.get("enterprise_id"),
        team_id=identity.get("team_id"),
        bot_user_id=identity.get("user_id"),
        bot_id=identity.get("bot_id"),
        bot_token=token,
    )

    async def authorize() -> AuthorizeResult:
        return result

    return authorize


class _TokenNotes(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment itself, then warns at every start that the client
    (or the authorize hook) we gave wins over it: true, and nothing for an operator to fix."""

    NOTES = frozenset({warning_client_prioritized_and_token_skipped(), warning_token_skipped()})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self.NOTES


def bolt_logger() -> logging.Logger:
    logger = logging.getLogger("slack_bolt.imagine")
    if not any(isinstance(f, _TokenNotes) for f in logger.filters):
        logger.addFilter(_TokenNotes())
    return logger


def web_client(settings: Settings) -> AsyncWebClient:
    assert settings.slack_bot_token is not None
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3)],
    )

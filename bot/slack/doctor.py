"""`imagine doctor` for Slack: the bot token and its scopes, the app-level token for Socket Mode."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from shared.ops.checks import TIMEOUT, Check

if TYPE_CHECKING:
    from shared.configuration.settings import Settings

SLACK_APPS = "https://api.slack.com/apps"


def check(settings: Settings) -> Iterator[Check]:
    if settings.slack_bot_token is None:
        return
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    from bot.slack.app import OPTIONAL_SCOPES, REQUIRED_SCOPES

    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url, timeout=TIMEOUT
    )
    try:
        response = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error")
        yield Check("slack bot token", False, f"rejected ({error}) → {SLACK_APPS} → OAuth & Permissions")
        return
    yield Check("slack bot token", True, f"accepted: {response.get('user')} in team {response.get('team')}")
    granted = {s.strip() for s in (response.headers.get("x-oauth-scopes") or "").split(",") if s.strip()}
    missing = [scope for scope in REQUIRED_SCOPES if scope not in granted]
    yield Check(
        "slack scopes",
        not missing,
        "all granted"
        if not missing
        else f"missing {', '.join(missing)} → paste slack-manifest.yaml and reinstall",
    )
    for scope, feature in OPTIONAL_SCOPES.items():
        if scope not in granted:
            yield Check(
                f"slack {scope}",
                True,
                f"not granted: no {feature} → paste slack-manifest.yaml and reinstall to have them",
            )
    yield Check(
        "slack events",
        True,
        "not visible to a bot token: slack-manifest.yaml subscribes app_mention, app_home_opened, "
        "message.channels, message.groups and message.im",
    )
    if settings.slack_app_token is not None:
        app_token = settings.slack_app_token.get_secret_value()
        if not app_token.startswith("xapp-"):
            yield Check(
                "slack app token", False, "must start with xapp- (an app-level token, not the bot token)"
            )
            return
        try:
            client.apps_connections_open(app_token=app_token)
            yield Check("slack app token", True, "accepted: Socket Mode can connect")
        except SlackApiError as exc:
            yield Check(
                "slack app token", False, f"rejected ({exc.response.get('error')}) → App-Level Tokens"
            )

"""slack-manifest.yaml creates an app that has what `imagine slack` checks for and listens to."""

from __future__ import annotations

import yaml

from bot.slack.app import OPTIONAL_SCOPES, REQUIRED_SCOPES
from bot.slack.pictures import DESCRIBE_SHORTCUT
from tests.helpers import ROOT


def test_the_manifest_grants_the_scopes_events_and_command_the_app_uses():
    manifest = yaml.safe_load((ROOT / "slack-manifest.yaml").read_text())
    assert {*REQUIRED_SCOPES, *OPTIONAL_SCOPES} <= set(manifest["oauth_config"]["scopes"]["bot"])
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "app_home_opened", "message.channels", "message.im"} <= events
    assert manifest["features"]["app_home"]["messages_tab_enabled"]  # members can DM the app
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/imagine"]
    [shortcut] = manifest["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"]) == ("message", DESCRIBE_SHORTCUT)
    assert (
        manifest["settings"]["interactivity"]["is_enabled"]
        and manifest["features"]["app_home"]["home_tab_enabled"]
    )
    urls = {
        manifest["settings"]["interactivity"]["request_url"],
        manifest["settings"]["event_subscriptions"]["request_url"],
    }
    assert {u.rsplit("/", 2)[-2:] == ["slack", "events"] for u in urls} == {True}
